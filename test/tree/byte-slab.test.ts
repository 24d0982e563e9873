import { describe, expect, it } from 'vitest';
import { compactBytes } from '../../src/core/tree/byte-slab.ts';

describe('compactBytes', () => {
  it('copies small data into a shared slab, byte for byte', () => {
    const a = compactBytes(new Uint8Array([1, 2, 3]));
    const b = compactBytes(new Uint8Array([4, 5]));
    expect([...a]).toEqual([1, 2, 3]);
    expect([...b]).toEqual([4, 5]);
    expect(a.buffer).toBe(b.buffer);
    expect(a.buffer.byteLength).toBeGreaterThan(a.length);
  });

  it('copies a range of a larger buffer without holding that buffer', () => {
    const page = new Uint8Array(4096).map((_, i) => i % 251);
    const copy = compactBytes(page, 100, 200);
    expect([...copy]).toEqual([...page.subarray(100, 200)]);
    expect(copy.buffer).not.toBe(page.buffer);
    page.fill(0);
    expect(copy[0]).toBe(100);
  });

  it('gives large data a buffer of its own, exactly its size', () => {
    const large = new Uint8Array(64 * 1024).map((_, i) => i % 7);
    expect(compactBytes(large)).toBe(large);
    const page = new Uint8Array(128 * 1024).fill(9);
    const part = compactBytes(page, 10, 10 + 2048);
    expect(part.buffer.byteLength).toBe(2048);
    expect(part.every((v) => v === 9)).toBe(true);
  });

  it('answers empty data as empty', () => {
    expect(compactBytes(new Uint8Array(0))).toHaveLength(0);
    expect(compactBytes(new Uint8Array(10), 5, 5)).toHaveLength(0);
  });

  it('starts a new slab when the current one is full, leaving earlier copies intact', () => {
    const copies = Array.from({ length: 100 }, (_, i) => compactBytes(new Uint8Array(1000).fill(i)));
    expect(new Set(copies.map((c) => c.buffer)).size).toBeGreaterThan(1);
    copies.forEach((c, i) => expect(c.every((v) => v === i)).toBe(true));
  });
});

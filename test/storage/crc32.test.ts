import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32, crc32Bytes } from '../../src/storage/crc32.ts';

/** The bitwise CRC-32 (IEEE) the files were first written with: stored checksums must not change. */
function reference(bytes: Uint8Array, previous = 0): number {
  let crc = ~previous;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return ~crc >>> 0;
}

describe('crc32', () => {
  it('is the IEEE CRC-32 of the text as UTF-8', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (text) => crc32(text) === reference(Buffer.from(text, 'utf8'))));
  });

  it('continues from a previous CRC, as one CRC over both parts', () => {
    fc.assert(fc.property(fc.uint8Array(), fc.uint8Array(), (a, b) => {
      const whole = new Uint8Array([...a, ...b]);
      return crc32Bytes(b, crc32Bytes(a)) === reference(whole);
    }));
  });

  it('keeps the previous CRC over no bytes, whatever buffer the empty view is of', () => {
    const previous = crc32('/\n[0]\n');
    expect(crc32Bytes(new Uint8Array(0), previous)).toBe(previous);
    expect(crc32Bytes(Buffer.alloc(0), previous)).toBe(previous);
    expect(crc32Bytes(new Uint8Array(8).subarray(8), previous)).toBe(previous);
    const db = new Database(':memory:');
    try {
      const empty = db.prepare(`SELECT x'' AS blob`).pluck().get() as Buffer;
      expect(empty).toHaveLength(0);
      expect(crc32Bytes(empty, previous)).toBe(previous);
    } finally {
      db.close();
    }
  });
});

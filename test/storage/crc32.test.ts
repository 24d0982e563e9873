import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Bytes } from '../../src/storage/crc32.ts';

describe('crc32', () => {
  it('is CRC-32 (IEEE) of the UTF-8 text', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32Bytes(Buffer.from('héllo'))).toBe(crc32('héllo'));
  });

  it('continues from a previous CRC as if over the concatenation', () => {
    const [a, b] = [Buffer.from('corral '), Buffer.from('pages')];
    expect(crc32Bytes(b, crc32Bytes(a))).toBe(crc32('corral pages'));
  });

  it('leaves the CRC unchanged over no bytes, even an empty blob read from SQLite', () => {
    const db = new Database(':memory:');
    try {
      const empty = db.prepare(`SELECT x'' AS blob`).pluck().get() as Buffer;
      expect(empty).toHaveLength(0);
      expect(crc32Bytes(empty, 12345)).toBe(12345);
      expect(crc32Bytes(new Uint8Array(0), 12345)).toBe(12345);
    } finally {
      db.close();
    }
  });
});

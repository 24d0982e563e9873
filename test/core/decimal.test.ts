/** Large integers as decimal text: the same text String() gives, for every number. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decimal } from '../../src/core/decimal.ts';

const int = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

describe('decimal', () => {
  it('writes any number as String() does, the large safe integers included', () => {
    const edges = [0, 1, 999_999_999, 1e9, 1e9 + 1, 2 ** 31, 2 ** 32 + 7, 4294967296 * 3 + 1000000007, 10 ** 15, Number.MAX_SAFE_INTEGER, -1, 1.5, NaN, 2 ** 53, 1e21];
    for (const n of edges) expect(decimal(n)).toBe(String(n));
    fc.assert(fc.property(fc.oneof(int, fc.double(), fc.integer()), (n) => {
      expect(decimal(n)).toBe(String(n));
    }));
  });
});

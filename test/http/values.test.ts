import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Stat } from '../../src/core/tree/znode.ts';
import { statJson, statJsonText } from '../../src/http/values.ts';

const int = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const stat: fc.Arbitrary<Stat> = fc.record({
  czxid: int, mzxid: int, pzxid: int, ctime: int, mtime: int, version: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  cversion: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), aversion: fc.nat(), ephemeralOwner: int,
  dataLength: fc.nat(), numChildren: fc.nat(),
});

describe('statJsonText', () => {
  it('is exactly the JSON of statJson, field for field and in the same order', () => {
    fc.assert(fc.property(stat, (s) => {
      expect(statJsonText(s)).toBe(JSON.stringify(statJson(s)));
    }));
  });
});

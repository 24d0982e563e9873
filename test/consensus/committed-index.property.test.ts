import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterConfig, committedIndex, quorumOf } from '../../src/core/consensus/cluster-config.ts';

describe('committedIndex', () => {
  it('is the largest index a majority of the voters has reached, whatever the learners\' matches', () => {
    const cluster = fc.integer({ min: 1, max: 9 }).chain((voters) => fc.record({
      voters: fc.constant(voters),
      learners: fc.integer({ min: 0, max: 3 }),
      matches: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: voters + 3, maxLength: voters + 3 }),
    }));
    fc.assert(fc.property(cluster, ({ voters, learners, matches }) => {
      const ids = Array.from({ length: voters + learners }, (_, i) => i + 1);
      const config = clusterConfig(ids.slice(0, voters), ids.slice(voters));
      const matchOf = (id: number) => matches[id - 1]!;
      const index = committedIndex(config, matchOf);
      // A majority is at or past it, and no larger index has a majority.
      const reached = (at: number) => config.voters.filter((v) => matchOf(v) >= at).length;
      expect(reached(index)).toBeGreaterThanOrEqual(quorumOf(config));
      expect(reached(index + 1)).toBeLessThan(quorumOf(config));
    }), { numRuns: 500 });
  });
});

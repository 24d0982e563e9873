/**
 * The consumer-group example's pure rules (examples/consumer-group/assignment.ts): the
 * coordinator's assignment is balanced, sticky and only names live workers; what the znodes hold
 * is checked when read, since anyone allowed to write them may write anything.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assign, parseAssignment, parseConfig, parseOffset, partitionsOf } from '../../examples/consumer-group/assignment.ts';

const countsOf = (owners: readonly string[]) => {
  const counts = new Map<string, number>();
  for (const owner of owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return counts;
};

describe('consumer-group assign()', () => {
  const cases = [
    { name: 'splits 6 partitions 2-2-2 among 3 new workers', partitions: 6, members: ['w1', 'w2', 'w3'], previous: [], counts: [2, 2, 2] },
    { name: 'gives the remainder one each (7 among 3: 3-2-2)', partitions: 7, members: ['w1', 'w2', 'w3'], previous: [], counts: [3, 2, 2] },
    { name: 'leaves every partition unowned when no worker is live', partitions: 3, members: [], previous: ['w1', 'w1', 'w2'], counts: [] },
    { name: 'leaves some workers idle when they outnumber partitions', partitions: 2, members: ['a', 'b', 'c'], previous: [], counts: [1, 1] },
  ] as const;
  it.each(cases)('$name', ({ partitions, members, previous, counts }) => {
    const owners = assign(partitions, members, previous);
    expect(owners).toHaveLength(partitions);
    const byOwner = countsOf(owners.filter((owner) => owner !== ''));
    expect([...byOwner.values()].sort().reverse()).toEqual([...counts]);
    if (members.length === 0) expect(owners.every((owner) => owner === '')).toBe(true);
  });

  it('moves only the dead worker\'s partitions when a worker dies', () => {
    const before = ['w1', 'w2', 'w3', 'w1', 'w2', 'w3'];
    const after = assign(6, ['w1', 'w3'], before);
    before.forEach((owner, partition) => owner !== 'w2' && expect(after[partition]).toBe(owner));
    expect(after.filter((owner) => owner === 'w2')).toEqual([]);
    expect([...countsOf(after).values()]).toEqual([3, 3]);
  });

  it('takes partitions for a joining worker only from those over their new share', () => {
    const before = ['w1', 'w1', 'w1', 'w2', 'w2', 'w2'];
    const after = assign(6, ['w1', 'w2', 'w3'], before);
    expect(after.filter((owner, partition) => owner !== before[partition])).toHaveLength(2);
    expect(countsOf(after).get('w3')).toBe(2);
  });

  it('is balanced, names only live workers and keeps every owner within its share (property)', () => {
    const worker = fc.constantFrom<string>('w1', 'w2', 'w3', 'w4', 'w5');
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.uniqueArray(worker, { maxLength: 5 }), fc.array(fc.oneof(worker, fc.constant('')), { maxLength: 40 }),
      (partitions, members, previous) => {
        const owners = assign(partitions, members, previous);
        expect(owners).toHaveLength(partitions);
        if (members.length === 0) return;
        expect(owners.every((owner) => members.includes(owner))).toBe(true);
        const loads = members.map((member) => owners.filter((owner) => owner === member).length);
        expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(1);
        // Sticky: a live previous owner keeps a partition unless it had more than its share.
        const kept = members.map((member) => owners.filter((owner, p) => owner === member && previous[p] === member).length);
        members.forEach((member, i) => {
          const hadBefore = previous.slice(0, partitions).filter((owner) => owner === member).length;
          expect(kept[i]).toBe(Math.min(hadBefore, loads[i]!));
        });
      }), { seed: 17, numRuns: 300 });
  });
});

describe('consumer-group znode parsing', () => {
  it('reads a valid config and refuses one out of range or not JSON', () => {
    expect(parseConfig('{"partitions":6,"batchSize":5}')).toEqual({ partitions: 6, batchSize: 5 });
    for (const text of ['', 'six', '{"partitions":0,"batchSize":5}', '{"partitions":6,"batchSize":1.5}', '{"partitions":2000,"batchSize":5}', '[6,5]']) {
      expect(parseConfig(text)).toBeUndefined();
    }
  });

  it('reads an assignment and the partitions of one worker in it', () => {
    const assignment = parseAssignment('{"generation":4,"epoch":"4294967430","coordinator":"w1","owners":["w1","w2","w1"]}');
    expect(partitionsOf(assignment, 'w1')).toEqual([0, 2]);
    expect(partitionsOf(undefined, 'w1')).toEqual([]);
    expect(parseAssignment('{"generation":4,"epoch":"-1","coordinator":"w1","owners":[]}')).toBeUndefined();
    expect(parseAssignment('{"generation":4,"epoch":"7","coordinator":"w1","owners":[1]}')).toBeUndefined();
  });

  it('reads an offset record and refuses a negative offset', () => {
    expect(parseOffset('{"offset":35,"owner":"w2","generation":3}')).toEqual({ offset: 35, owner: 'w2', generation: 3 });
    expect(parseOffset('{"offset":-1,"owner":"w2","generation":3}')).toBeUndefined();
  });
});

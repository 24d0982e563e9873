// Specification of ZooKeeper's StatsTrack text (the data of zookeeper_limits and zookeeper_stats),
// per /tmp/zk-acl-facts.md §8 and StatsTrack.java: parsed as Java parses it, written as toString().
import { describe, expect, it } from 'vitest';
import { formatStatsTrack, parseStatsTrack, statValue } from '../../src/core/tree/quota-stats.ts';

const parsed = (text: string) => {
  const stats = parseStatsTrack(text);
  return stats && Object.fromEntries(stats);
};

describe('quota StatsTrack parsing', () => {
  it('reads the pre-3.7 form count=N,bytes=M', () => {
    expect(parsed('count=3,bytes=10')).toEqual({ count: 3, bytes: 10 });
  });

  it('reads the 3.7+ form, where the = after bytes is harmless', () => {
    expect(parsed('count=2,bytes=-1=;byteHardLimit=-1;countHardLimit=-1')).toEqual({
      count: 2, bytes: -1, byteHardLimit: -1, countHardLimit: -1,
    });
    expect(parsed('count=-1,bytes=-1=;byteHardLimit=100;countHardLimit=5')).toEqual({
      count: -1, bytes: -1, byteHardLimit: 100, countHardLimit: 5,
    });
  });

  it('splits on runs of , and ; alike, and ignores a trailing separator', () => {
    expect(parsed('count=1;;bytes=2,,;countHardLimit=3,')).toEqual({ count: 1, bytes: 2, countHardLimit: 3 });
  });

  it('answers -1 for a missing key and for an empty value between two =', () => {
    const stats = parseStatsTrack('count==7')!;
    expect(statValue(stats, 'count')).toBe(-1);
    expect(statValue(stats, 'bytes')).toBe(-1);
    expect(statValue(parseStatsTrack('')!, 'countHardLimit')).toBe(-1);
  });

  it('keeps the last of a repeated key (a HashMap put)', () => {
    expect(parsed('count=1,count=4')).toEqual({ count: 4 });
  });

  it('takes a sign as Long.parseLong does', () => {
    expect(parsed('count=+5,bytes=-0')).toEqual({ count: 5, bytes: 0 });
  });

  it.each([
    ['a pair without =', 'count=1,bytes'],
    ['a value Java split drops (bytes=)', 'count=1,bytes='],
    ['a leading separator (an empty first pair)', ',count=1'],
    ['a value that is not a long', 'count=two'],
    ['a decimal', 'count=1.5'],
    ['a value past 2^63 - 1', 'count=9223372036854775808'],
    ['a lone =', '='],
  ])('is unparseable where StatsTrack would throw: %s', (_, text) => {
    expect(parseStatsTrack(text)).toBeUndefined();
  });
});

describe('quota StatsTrack formatting', () => {
  it('writes count and bytes alone as count=N,bytes=M', () => {
    expect(formatStatsTrack(new Map([['bytes', 5], ['count', 2]]))).toBe('count=2,bytes=5');
  });

  it('writes -1 for count or bytes not set', () => {
    expect(formatStatsTrack(new Map())).toBe('count=-1,bytes=-1');
  });

  it('appends other keys sorted after =, as setquota -n 2 writes its limits', () => {
    const limits = new Map([['countHardLimit', -1], ['count', 2], ['byteHardLimit', -1], ['bytes', -1]]);
    expect(formatStatsTrack(limits)).toBe('count=2,bytes=-1=;byteHardLimit=-1;countHardLimit=-1');
  });

  it('round-trips through parsing', () => {
    for (const text of ['count=2,bytes=-1=;byteHardLimit=-1;countHardLimit=-1', 'count=7,bytes=0']) {
      expect(formatStatsTrack(parseStatsTrack(text)!)).toBe(text);
    }
  });
});

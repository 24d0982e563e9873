import { describe, expect, it } from 'vitest';
import { checkTargets, roundRatios } from '../../bench/report.ts';
import type { ResultRow } from '../../bench/workloads/workload.ts';

const row = (target: string, opsPerSec: number, roundsOpsPerSec?: string): ResultRow => ({
  target, nodes: 1, workload: 'setData-64', kind: 'throughput', status: 'ok', concurrency: 64, ops: 1000, opsPerSec,
  errors: 0, extra: roundsOpsPerSec === undefined ? {} : { rounds: 3, roundsOpsPerSec },
});

describe('roundRatios', () => {
  it('divides round by round', () => {
    expect(roundRatios(row('corral', 20, '10 / 30 / 20'), row('zookeeper', 10, '10 / 10 / 20'))).toEqual([1, 3, 1]);
  });

  it('is empty when a round failed, the counts differ, or there was one run', () => {
    expect(roundRatios(row('corral', 20, '10 / failed / 20'), row('zookeeper', 10, '10 / 10 / 20'))).toEqual([]);
    expect(roundRatios(row('corral', 20, '10 / 20'), row('zookeeper', 10, '10 / 10 / 20'))).toEqual([]);
    expect(roundRatios(row('corral', 20), row('zookeeper', 10))).toEqual([]);
  });
});

describe('checkTargets', () => {
  it('says whether setData holds against each peer, with the spread of the rounds', () => {
    const checks = checkTargets([row('corral', 22_000, '17000 / 24000 / 22000'), row('zookeeper', 18_000, '14000 / 18600 / 18000'),
      row('etcd', 11_500, '8000 / 10000 / 11500')]);
    const zk = checks.find((c) => c.goal === 'corral setData-64 ≥ 1.0× zookeeper')!;
    expect(zk.verdict).toBe('holds');
    expect(zk.measured).toBe('22,000 vs 18,000 ops/s = 1.22×; rounds 1.21–1.29×');
    const etcd = checks.find((c) => c.goal === 'corral setData-64 ≥ 2.0× etcd')!;
    expect(etcd.verdict).toBe('does not hold');
    expect(etcd.measured).toBe('22,000 vs 11,500 ops/s = 1.91×; rounds 1.91–2.40×');
  });
});

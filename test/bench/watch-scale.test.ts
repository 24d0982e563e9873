// Smoke test of the watch-scale benchmark (bench/workloads/watch-scale.ts): the CLI's watch-10k
// with --quick (50 subscribers in their child process) against Corral alone gives a well-formed
// row: every event of every measured write delivered, the writer's and getData's latencies and
// the RSS per subscriber recorded, the subscriber process gone afterwards. Shape only: no timed
// assertions (benchmarks are not tests). Needs neither ZooKeeper nor etcd.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResultRow } from '../../bench/workloads/workload.ts';
import { byWrite } from '../../bench/workloads/watch-scale.ts';
import { processesMentioning, REPO_ROOT, runBench as runBenchFor } from './bench-process.ts';

// A bound, not a speed check (a loaded 2-core runner took 17 s to start a node alone).
const RUN_TIMEOUT_MS = 120_000;

const scratch = mkdtempSync(join(tmpdir(), 'corral-bench-scale-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const runBench = (args: readonly string[]) => runBenchFor(args, RUN_TIMEOUT_MS);
const subscriberProcesses = () => processesMentioning(REPO_ROOT, 'watch-scale-subscribers');

describe('npm run bench -- --workloads watch-10k (smoke)', () => {
  it('delivers every event of every measured write to every subscriber and records the writer, getData and RSS', async () => {
    const workDir = join(scratch, 'work');
    mkdirSync(workDir);
    const out = join(scratch, 'result.json');
    const run = await runBench(['--targets', 'corral', '--workloads', 'watch-10k', '--quick', '--duration-ms', '1000', '--warmup-ms', '100',
      '--out', out, '--work-dir', workDir]);
    expect(run.code, run.stderr).toBe(0);

    const [row] = (JSON.parse(readFileSync(out, 'utf8')) as { rows: ResultRow[] }).rows;
    expect(row, row?.reason).toMatchObject({ target: 'corral', workload: 'watch-10k', status: 'ok', concurrency: 50, errors: 0 });
    const writes = row!.extra.writes as number;
    expect(writes).toBeGreaterThan(0);
    expect(row!.extra.subscribers).toBe(50);
    expect(row!.ops).toBe(50 * writes);
    expect(row!.p99Ms!).toBeGreaterThanOrEqual(row!.p50Ms!);
    expect(row!.extra.writerP50Ms as number).toBeGreaterThan(0);
    expect(row!.extra.getDataOps as number).toBeGreaterThan(0);
    expect(Number.isFinite(row!.extra.rssPerSubscriberKb as number)).toBe(true);
    expect(readdirSync(workDir)).toEqual([]);
    expect(subscriberProcesses()).toEqual([]);
  });
});

describe('watch-scale: which write an event belongs to', () => {
  it('gives an event dated after its write (a gateway\'s) to the last write at or before its zxid', () => {
    const arrivals = { 5: new Float64Array([4]), 10: new Float64Array([1]), 12: new Float64Array([2]), 15: new Float64Array([3]) };
    const grouped = byWrite(arrivals, ['14', '10']);
    expect(Object.keys(grouped).sort()).toEqual(['10', '14']);
    expect([...grouped['10']!].sort()).toEqual([1, 2]);
    expect([...grouped['14']!]).toEqual([3]);
  });
});


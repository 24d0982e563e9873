// Smoke test of the benchmark harness (bench/): runs the CLI against Corral alone with tiny
// counts and short windows, and checks only the shape of what it produces: one well-formed row
// per default workload with ops > 0, and nothing left behind (processes, temp dirs). No timed
// assertions: benchmarks are not tests. Needs neither ZooKeeper nor etcd.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OPT_IN_WORKLOADS, WORKLOADS } from '../../bench/harness.ts';
import type { ResultRow } from '../../bench/workloads/workload.ts';
import { processesMentioning, runBench as runBenchFor } from './bench-process.ts';

// A bound, not a speed check: on a loaded 2-core runner starting a node alone took 17 s.
const RUN_TIMEOUT_MS = 90_000;

const scratch = mkdtempSync(join(tmpdir(), 'corral-bench-smoke-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const runBench = (args: readonly string[], script?: string) => runBenchFor(args, RUN_TIMEOUT_MS, script);

describe('npm run bench (smoke)', () => {
  it('produces a well-formed row with ops > 0 for every default workload against Corral alone', async () => {
    const workDir = join(scratch, 'work');
    mkdirSync(workDir);
    const out = join(scratch, 'result.json');
    const run = await runBench(['--targets', 'corral', '--quick', '--duration-ms', '300', '--warmup-ms', '100',
      '--out', out, '--work-dir', workDir]);
    expect(run.code, run.stderr).toBe(0);

    const result = JSON.parse(readFileSync(out, 'utf8')) as { machine: { cpus: number; node: string }; rows: ResultRow[] };
    expect(result.machine.cpus).toBeGreaterThan(0);
    expect(result.machine.node).toBe(process.version);
    const expected = WORKLOADS.filter((w) => !OPT_IN_WORKLOADS.includes(w.name));
    expect(result.rows.map((r) => r.workload)).toEqual(expected.map((w) => w.name));
    for (const row of result.rows) {
      expect(row, `${row.workload}: ${row.reason ?? ''}`).toMatchObject({ target: 'corral', nodes: 1, status: 'ok' });
      expect(row.ops, row.workload).toBeGreaterThan(0);
      expect(Number.isFinite(row.opsPerSec) && row.opsPerSec > 0, row.workload).toBe(true);
      if (row.kind !== 'memory') {
        expect(row.p50Ms! >= 0 && row.p99Ms! >= row.p50Ms!, row.workload).toBe(true);
      } else {
        expect(row.extra.rssMb as number, row.workload).toBeGreaterThan(0);
        expect(row.extra.startToReadyMs as number, row.workload).toBeGreaterThan(0);
        expect(row.extra.checkpointMs as number, row.workload).toBeGreaterThan(0);
      }
    }
    expect(run.stdout).toContain('| setData-64 | corral |');

    expect(readdirSync(workDir)).toEqual([]);
    expect(processesMentioning(workDir)).toEqual([]);
  }, RUN_TIMEOUT_MS + 5000);

  it('bench/compare.ts drives two builds in interleaved slices and prints each one\'s median and its ratio to the first', async () => {
    const workDir = join(scratch, 'compare');
    mkdirSync(workDir);
    const run = await runBench(['--slices', '2', '--slice-ms', '200', '--work-dir', workDir, 'first=.', 'second=.,CORRAL_LOG_LEVEL=warn'],
      'bench/compare.ts');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^first +\d+ ops\/s, [\d.]+ µs CPU\/op \(event loop [\d.]+\); slices \d+ \d+$/m);
    expect(run.stdout).toMatch(/^second +\d+ ops\/s/m);
    expect(run.stdout).toMatch(/^second ÷ first: median [\d.]+× \([\d.]+ [\d.]+\)$/m);
    expect(readdirSync(workDir)).toEqual([]);
    expect(processesMentioning(workDir)).toEqual([]);
  }, RUN_TIMEOUT_MS + 5000);
});

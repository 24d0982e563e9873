// Shape test of the `gateway-2` benchmark target (bench/targets/gateway.ts): the CLI starts a real
// ZooKeeper 3.8 with two Corral gateways in front, drives a request and a watch workload through
// them with tiny counts, and stops everything. Checks only the rows' shape and that nothing is
// left behind: no timed assertions (benchmarks are not tests).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResultRow } from '../../bench/workloads/workload.ts';
import { processesMentioning, runBench as runBenchFor } from './bench-process.ts';

// A bound, not a speed check: a JVM and two gateways on a loaded 2-core runner.
const RUN_TIMEOUT_MS = 150_000;

// Long enough that a cold JVM's first answers (JIT, TLS handshakes, a GC) on a loaded runner
// land inside it: a row counts only what completes in the window, and 300 ms once had none.
const WINDOW_MS = 1500;

const scratch = mkdtempSync(join(tmpdir(), 'corral-bench-gateway-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const runBench = (args: readonly string[]) => runBenchFor(args, RUN_TIMEOUT_MS);

describe('npm run bench --targets gateway-2', () => {
  it('drives setData-64 and watch-50 through two gateways in front of ZooKeeper and leaves nothing behind', async () => {
    const workDir = join(scratch, 'work');
    mkdirSync(workDir);
    const out = join(scratch, 'result.json');
    const run = await runBench(['--targets', 'gateway-2', '--workloads', 'setData-64,watch-50', '--quick',
      '--duration-ms', String(WINDOW_MS), '--warmup-ms', '100', '--out', out, '--work-dir', workDir]);
    expect(run.code, run.stderr).toBe(0);

    const rows = (JSON.parse(readFileSync(out, 'utf8')) as { rows: ResultRow[] }).rows;
    expect(rows.map((r) => r.workload)).toEqual(['setData-64', 'watch-50']);
    for (const row of rows) {
      expect(row, `${row.workload}: ${row.reason ?? ''}`).toMatchObject({ target: 'gateway-2', nodes: 1, status: 'ok', errors: 0 });
      expect(row.ops, row.workload).toBeGreaterThan(0);
      expect(row.p50Ms! >= 0 && row.p99Ms! >= row.p50Ms!, row.workload).toBe(true);
    }
    expect(run.stdout).toContain('| setData-64 | gateway-2 |');

    expect(readdirSync(workDir)).toEqual([]);
    expect(processesMentioning(workDir)).toEqual([]);
  }, RUN_TIMEOUT_MS + 5000);

  it('is not among the default targets (it runs when named)', async () => {
    const run = await runBench(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/default all but gateway,gateway-2,/);
  });
});

// Shape test of the `zookeeper-tls`, `zookeeper-netty` (bench/targets/zookeeper-tls.ts) and
// `corral-tls` benchmark targets: the CLI starts a real ZooKeeper 3.8 with a secureClientPort,
// drives setData-64 and getData-64 over TLS and over its plain port with Corral's own ZooKeeper
// client, and Corral over HTTPS, and stops everything. Checks only the rows' shape and that nothing is left behind: no
// timed assertions (benchmarks are not tests).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResultRow } from '../../bench/workloads/workload.ts';
import { processesMentioning, runBench } from './bench-process.ts';

// A bound, not a speed check: two JVMs, one after the other, on a loaded 2-core runner.
const RUN_TIMEOUT_MS = 150_000;

// Long enough that a cold JVM's first answers (JIT, TLS handshakes, a GC) on a loaded runner
// land inside it: a row counts only what completes in the window, and 300 ms once had none.
const WINDOW_MS = 1500;

const scratch = mkdtempSync(join(tmpdir(), 'corral-bench-zk-tls-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('npm run bench --targets zookeeper-tls,zookeeper-netty,corral-tls', () => {
  it('drives requests to ZooKeeper over its secureClientPort and its plain port, and to Corral over HTTPS, and leaves nothing behind', async () => {
    const workDir = join(scratch, 'work');
    mkdirSync(workDir);
    const out = join(scratch, 'result.json');
    const run = await runBench(['--targets', 'zookeeper-tls,zookeeper-netty,corral-tls', '--workloads', 'setData-64,getData-64', '--quick',
      '--duration-ms', String(WINDOW_MS), '--warmup-ms', '100', '--out', out, '--work-dir', workDir], RUN_TIMEOUT_MS);
    expect(run.code, run.stderr).toBe(0);

    const rows = (JSON.parse(readFileSync(out, 'utf8')) as { rows: ResultRow[] }).rows;
    expect(rows.map((r) => `${r.workload} ${r.target}`).sort()).toEqual([
      'getData-64 corral-tls', 'getData-64 zookeeper-netty', 'getData-64 zookeeper-tls',
      'setData-64 corral-tls', 'setData-64 zookeeper-netty', 'setData-64 zookeeper-tls',
    ]);
    for (const row of rows) {
      expect(row, `${row.target} ${row.workload}: ${row.reason ?? ''}`).toMatchObject({ nodes: 1, status: 'ok', errors: 0 });
      expect(row.ops, row.workload).toBeGreaterThan(0);
    }
    expect(run.stdout).toContain('| setData-64 | zookeeper-tls |');

    expect(readdirSync(workDir)).toEqual([]);
    expect(processesMentioning(workDir)).toEqual([]);
  }, RUN_TIMEOUT_MS + 5000);

  it('is not among the default targets (it runs when named)', async () => {
    const run = await runBench(['--help'], 30_000);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/default all but [^:]*zookeeper-tls,zookeeper-netty,corral-tls,zookeeper-own-client:/);
  });
});

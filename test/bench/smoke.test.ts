// Smoke test of the benchmark harness (bench/): runs the CLI against Corral alone with tiny
// counts and short windows, and checks only the shape of what it produces: one well-formed row
// per default workload with ops > 0, and nothing left behind (processes, temp dirs). No timed
// assertions: benchmarks are not tests. Needs neither ZooKeeper nor etcd.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { OPT_IN_WORKLOADS, WORKLOADS } from '../../bench/harness.ts';
import type { ResultRow } from '../../bench/workloads/workload.ts';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
// A bound, not a speed check: on a loaded 2-core runner starting a node alone took 17 s.
const RUN_TIMEOUT_MS = 90_000;

const scratch = mkdtempSync(join(tmpdir(), 'corral-bench-smoke-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function runBench(args: readonly string[], script = 'bench/main.ts'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // SIGINT lets the harness stop its servers; they also die with it (their watchdog holds its pipe).
    const timer = setTimeout(() => child.kill('SIGINT'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** Processes whose command line mentions `text` (the servers get their data dirs under it). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(text)) found.push(`${pid}: ${cmdline}`);
    } catch { /* gone meanwhile */ }
  }
  return found;
}

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

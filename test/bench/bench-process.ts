/**
 * What the benchmark harness's shape tests share: running the bench CLI as a child process with a
 * bound, and finding processes it may have left behind. No timed assertions: the bound only
 * stops a run that hangs (SIGINT lets the harness stop its servers; their watchdogs also stop them
 * when it goes away).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export interface BenchRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runBench(args: readonly string[], timeoutMs: number, script = 'bench/main.ts'): Promise<BenchRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** Processes whose command line mentions every one of `texts`. */
export function processesMentioning(...texts: string[]): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (texts.every((text) => cmdline.includes(text))) found.push(`${pid}: ${cmdline}`);
    } catch { /* gone meanwhile */ }
  }
  return found;
}

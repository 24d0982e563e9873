/**
 * corral-cli spawned as a user runs it (`node src/cli/bin.mjs …`, what the `corral-cli` bin
 * runs), its output collected and its exit code awaited, for the CLI's end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './corral-process.ts';

export const CLI_BIN = join(REPO_ROOT, 'src', 'cli', 'bin.mjs');
const RUN_TIMEOUT_MS = 20_000;

export interface CliRun {
  /** null when the command was killed (it outlived its bound). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A spawned command with its output collected; killed if it outlives its bound. */
export class Spawned {
  readonly done: Promise<CliRun>;
  stdout = '';
  stderr = '';
  private readonly child: ChildProcess;

  constructor(command: string, args: readonly string[], timeoutMs = RUN_TIMEOUT_MS, env: Record<string, string> = {}) {
    // What decides about colour is the test's own (CI runners set CI and leave TERM unset).
    const { NO_COLOR: _n, FORCE_COLOR: _f, NODE_DISABLE_COLORS: _d, CI: _c, TERM: _t, TMUX: _x, COLORTERM: _ct, TERM_PROGRAM: _tp, ...inherited } = process.env;
    this.child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...inherited, ...env } });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString('utf8')));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    this.done = new Promise((resolve) => this.child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: this.stdout, stderr: this.stderr });
    }));
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** corral-cli with `args`, spawned (not yet awaited); killed past `timeoutMs`. */
export function spawnCli(args: readonly string[], timeoutMs?: number): Spawned {
  return new Spawned(process.execPath, [CLI_BIN, ...args], timeoutMs);
}

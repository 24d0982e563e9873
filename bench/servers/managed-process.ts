/**
 * Server processes the bench starts: each runs under a small sh watchdog that holds our stdin
 * pipe, so when the bench goes away for any reason (even SIGKILL) the pipe reaches EOF and the
 * watchdog stops the server. Invariants: every process started is in `live` until stopped, every
 * temp dir made here is in `tempDirs` until removed; `stopAll()` (called from finally and from
 * SIGINT/SIGTERM) ends the processes, then removes the dirs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OUTPUT_TAIL_CHARS = 8000;
const STOP_GRACE_MS = 15_000;
const PID_LINE = /^bench-pid (\d+)\n?/m;
/** USER_HZ: Linux reports process CPU times in 1/100 s on every common architecture. */
const CLOCK_TICKS_PER_SEC = 100;

// $1.. are the server's argv. The server gets TERM when our pipe closes.
const WATCHDOG = [
  'exec 3<&0',
  '"$@" 3<&- </dev/null &',
  'pid=$!',
  'echo "bench-pid $pid" >&2',
  '( read -r _ <&3; kill "$pid" 2>/dev/null ) &',
  'wait "$pid"',
].join('\n');

const live = new Set<ManagedProcess>();
const tempDirs = new Set<string>();

export interface SpawnOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: Record<string, string>;
}

export class ManagedProcess {
  private output = '';
  private serverPid: number | undefined;
  private readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** Resolves once the output pipes are closed too: the output tail is complete. */
  private readonly closed: Promise<void>;

  constructor(readonly options: SpawnOptions) {
    this.child = spawn('/bin/sh', ['-c', WATCHDOG, `bench-${options.name}`, options.command, ...options.args], {
      cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true,
      env: { ...process.env, ...options.env },
    });
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
      if (this.serverPid === undefined) {
        const match = PID_LINE.exec(this.output);
        if (match) this.serverPid = Number(match[1]);
      }
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('error', (error) => (this.output += `\nspawn error: ${error.message}`));
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.closed = new Promise((resolve) => this.child.once('close', () => resolve()));
    live.add(this);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get exitDescription(): string {
    return `exit ${this.child.exitCode ?? this.child.signalCode}`;
  }

  /** The server's own pid (not the watchdog's), once the watchdog has printed it. */
  get pid(): number | undefined {
    return this.serverPid;
  }

  /** The last few KB of the server's stdout and stderr (the watchdog's pid line left out). */
  get outputTail(): string {
    return this.output.replace(PID_LINE, '').trim();
  }

  /** Resident set size of the server process in bytes (VmRSS), or undefined when not running. */
  rssBytes(): number | undefined {
    if (this.serverPid === undefined || !this.running) return undefined;
    try {
      const status = readFileSync(`/proc/${this.serverPid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /** Undefined while running; else the exit and the tail of the output. */
  exitDetail(): string | undefined {
    if (this.running) return undefined;
    return `${this.options.name} died (${this.exitDescription}): ${this.outputTail.slice(-1500)}`;
  }

  /** CPU time (user + system) the server process has used so far, in seconds; 0 when unknown. */
  cpuSeconds(): number {
    return this.serverPid === undefined ? 0 : statCpuSeconds(`/proc/${this.serverPid}/stat`);
  }

  /** The same for the server's main thread alone (Node's event loop), in seconds; 0 when unknown. */
  mainThreadCpuSeconds(): number {
    return this.serverPid === undefined ? 0 : statCpuSeconds(`/proc/${this.serverPid}/task/${this.serverPid}/stat`);
  }

  /** SIGTERM to the server (a graceful exit: profiles get written), SIGKILL to the group after the grace. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.running) {
      if (this.serverPid !== undefined) {
        try { process.kill(this.serverPid, 'SIGTERM'); } catch { /* already gone */ }
      } else {
        this.child.stdin?.end();
      }
      if (!(await waitExit(this.exited, graceMs)) && this.child.pid !== undefined) {
        try { process.kill(-this.child.pid, 'SIGKILL'); } catch { /* already gone */ }
        await waitExit(this.exited, 5000);
      }
    }
    this.child.stdin?.destroy();
    await waitExit(this.closed, 2000);
    live.delete(this);
  }

  /** Last resort on exit paths that cannot await: kill the whole group now. */
  killNow(): void {
    if (this.running && this.child.pid !== undefined) {
      try { process.kill(-this.child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    this.child.stdin?.destroy();
  }
}

async function waitExit(exited: Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([exited.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Stops every process still running (bounded per process), then removes every temp dir. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop().catch(() => p.killNow())));
  for (const dir of tempDirs) removeTempDir(dir);
}

/** Synchronous variant for process 'exit'. */
export function killAllNow(): void {
  for (const p of live) p.killNow();
  live.clear();
  for (const dir of tempDirs) removeTempDir(dir);
}

/** CPU seconds used so far by every server process the bench has running. */
export function liveCpuSeconds(): number {
  let sum = 0;
  for (const p of live) sum += p.cpuSeconds();
  return sum;
}

export function liveProcessCount(): number {
  return live.size;
}

/** A new temp dir under `parent` (the OS temp dir by default), removed by stopAll at the latest. */
export function makeTempDir(prefix: string, parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** utime + stime of a /proc stat file, in seconds; 0 when it cannot be read. */
function statCpuSeconds(file: string): number {
  try {
    const stat = readFileSync(file, 'utf8');
    // Fields after the command name (which may hold spaces) start at state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SEC;
  } catch {
    return 0;
  }
}

/** A port that was free a moment ago on 127.0.0.1 (the tests' helper). */
export { freePort } from '../../test/support/corral-process.ts';

const PORT_CLASH = /address already in use|EADDRINUSE/i;
const START_ATTEMPTS = 3;

/**
 * Starts a deployment, again on fresh ports when a server could not bind one: a port found free
 * can be taken (as another connection's local port) before the server binds it.
 */
export async function startWithFreshPorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (attempt >= START_ATTEMPTS || !PORT_CLASH.test(error instanceof Error ? error.message : String(error))) throw error;
    }
  }
}

export async function pollUntil(fn: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 20): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (let i = 0; i < 1_000_000; i++) {
    try {
      if (await fn()) return true;
    } catch { /* not yet */ }
    if (performance.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return false;
}

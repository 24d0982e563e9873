/**
 * Helpers for the durability tests: bounded polling, temp dirs, HTTP against 127.0.0.1, a tree
 * walk that checks structure, and real Corral processes that are always cleaned up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

const POLL_INTERVAL_MS = 25;
const REQUEST_TIMEOUT_MS = 5000;

/** Whether process `pid` is still running (signal 0 probes without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `fn` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs, what = 'condition' }: { timeoutMs: number; what?: string },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 0; attempt < 100_000; attempt++) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  const detail = lastError instanceof Error ? `: last error ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}

export function makeTempDir(prefix = 'corral-durability-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/*
 * Ports for servers the tests start. A port taken by binding port 0 comes from the kernel's
 * ephemeral range (32768-60999 on Linux), so between its release and the server's bind any other
 * socket (a connect, another test's port-0 listener) may be given it: EADDRINUSE, seen in CI.
 * Ports here come from below that range, where the kernel hands nothing out by itself, from a
 * block of its own for each vitest worker, in turn, each checked free by a bind.
 */
const PORT_FLOOR = 12_000;
const PORTS_PER_BLOCK = 1_600;
const BLOCKS = 12; // 12_000 + 12 × 1_600 = 31_200 < 32_768
const block = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? 0) % BLOCKS;
let nextOffset = process.pid % PORTS_PER_BLOCK;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

/** A port on 127.0.0.1 that is free now and that no other test worker nor the kernel hands out. */
export function freePort(): Promise<number> {
  return freePortRun(1);
}

/** The first of `count` consecutive ports, each as freePort's (for a script that numbers its members' ports from a base). */
export async function freePortRun(count: number): Promise<number> {
  for (let tries = 0; tries < PORTS_PER_BLOCK; tries++) {
    if (nextOffset + count > PORTS_PER_BLOCK) nextOffset = 0;
    const base = PORT_FLOOR + block * PORTS_PER_BLOCK + nextOffset;
    nextOffset = (nextOffset + count) % PORTS_PER_BLOCK;
    const free = await Promise.all(Array.from({ length: count }, (_, i) => bindable(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no run of ${count} free ports in block ${block}`);
}

export function znodeUrl(base: string, prefix: string, path: string): string {
  const suffix = path === '/' ? '' : path.split('/').map(encodeURIComponent).join('/');
  return `${base}${prefix}${suffix}`;
}

export interface HttpReply {
  readonly status: number;
  readonly body: any;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One request over node:http (much cheaper than fetch here); JSON bodies are parsed. Rejects on network failure. */
export function http(method: string, url: string, body?: string | Uint8Array | object): Promise<HttpReply> {
  const isJson = body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array);
  const payload = body === undefined ? undefined : isJson ? JSON.stringify(body) : (body as string | Uint8Array);
  const headers: Record<string, string | number> = isJson ? { 'content-type': 'application/json' } : {};
  if (payload !== undefined) headers['content-length'] = Buffer.byteLength(payload);
  return new Promise((resolveReply, reject) => {
    const req = request(url, { method, headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const json = (res.headers['content-type'] ?? '').includes('json') && text !== '';
        try {
          resolveReply({ status: res.statusCode ?? 0, body: json ? JSON.parse(text) : text });
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface NodeView {
  readonly data: string;
  readonly encoding: string;
  readonly stat: Record<string, unknown>;
  readonly children: readonly string[];
}

/**
 * Walks the whole tree over HTTP (GET /v1/children recursion plus GET /v1/znodes for each node),
 * checking on the way that every node's numChildren equals its listed children.
 */
export async function readTree(base: string, maxNodes = 20_000): Promise<Map<string, NodeView>> {
  const tree = new Map<string, NodeView>();
  let level = ['/'];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > 100 || tree.size + level.length > maxNodes) throw new Error(`tree walk exceeded its bounds at ${tree.size} nodes`);
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 16) {
      const views = await Promise.all(level.slice(i, i + 16).map((path) => readNode(base, path)));
      for (const [path, node] of views) {
        tree.set(path, node);
        for (const child of node.children) next.push(path === '/' ? `/${child}` : `${path}/${child}`);
      }
    }
    level = next;
  }
  return new Map([...tree.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function readNode(base: string, path: string): Promise<[string, NodeView]> {
  const [kids, node] = await Promise.all([
    http('GET', znodeUrl(base, '/v1/children', path)),
    http('GET', znodeUrl(base, '/v1/znodes', path)),
  ]);
  if (kids.status !== 200 || node.status !== 200) {
    throw new Error(`reading ${path}: children ${kids.status}, znode ${node.status}`);
  }
  const children = kids.body.children as string[];
  if (node.body.stat.numChildren !== children.length) {
    throw new Error(`${path}: numChildren ${node.body.stat.numChildren} but ${children.length} children listed`);
  }
  return [path, { data: node.body.data, encoding: node.body.encoding, stat: node.body.stat, children }];
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Preloaded into every server: it exits when this (test) process does, however that ends. */
export const EXIT_WITH_PARENT = pathToFileURL(join(REPO_ROOT, 'scripts/exit-with-parent.mjs')).href;

/** How node runs Corral from the repo: its sources under tsx (the tests need no build). */
export const TSX_ENTRY: readonly string[] = ['--import', 'tsx', 'src/main.ts'];

/** A Corral server in its own process (`node --import tsx src/main.ts`, or another `entry`). */
export class CorralProcess {
  readonly url: string;
  readonly exited: Promise<ExitInfo>;
  private out = '';
  private err = '';
  private exitInfo: ExitInfo | undefined;
  private readonly child: ChildProcess;

  constructor(readonly dataDir: string, readonly port: number, extraArgs: readonly string[] = [], entry = TSX_ENTRY) {
    this.url = `http://127.0.0.1:${port}`;
    const args = [...entry, '--port', String(port), '--host', '127.0.0.1',
      '--data-dir', dataDir, '--log-level', 'warn', ...extraArgs];
    // stdin a pipe held by this process: exit-with-parent.mjs ends the server when it closes.
    this.child = spawn(process.execPath, ['--import', EXIT_WITH_PARENT, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin!.on('error', () => {}); // nothing is written; a closed pipe is not this process's failure
    this.child.stdout!.on('data', (chunk: Buffer) => (this.out += chunk.toString('utf8')));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.err += chunk.toString('utf8')));
    this.exited = new Promise((resolveExit) => {
      // 'close', not 'exit': by then stdout and stderr are read to their end, so a crash's stack is in `stderr`.
      this.child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        resolveExit(this.exitInfo);
      });
    });
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** How the process ended; undefined while it runs. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** Resolves once /healthz answers 200; fails as soon as the process exits instead. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const outcome = await waitFor(async () => {
      if (!this.running) return 'exited' as const;
      return (await http('GET', `${this.url}/healthz`)).status === 200 && ('healthy' as const);
    }, { timeoutMs, what: `corral on ${this.url} to be healthy` });
    if (outcome === 'exited') {
      const info = this.exitInfo!;
      throw new Error(`corral exited (code ${info.code}, signal ${info.signal}) before it was healthy: ${this.err.trim()}`);
    }
  }

  /** Waits (bounded) for the process to exit. */
  async waitExit(timeoutMs: number): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGKILL and wait for the exit; safe to call when already gone. */
  async kill(): Promise<ExitInfo> {
    this.signal('SIGKILL');
    return this.waitExit(10_000);
  }
}

/** Tracks every process a test file starts, so afterEach can kill all of them even on failure. */
export class ProcessPool {
  private readonly all: CorralProcess[] = [];

  spawn(dataDir: string, port: number, extraArgs: readonly string[] = [], entry = TSX_ENTRY): CorralProcess {
    const proc = new CorralProcess(dataDir, port, extraArgs, entry);
    this.all.push(proc);
    return proc;
  }

  async killAll(): Promise<void> {
    const live = this.all.splice(0);
    await Promise.all(live.map((p) => p.kill().catch(() => undefined)));
  }
}

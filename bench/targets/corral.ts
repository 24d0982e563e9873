/**
 * Corral as a target: one node (`corral`) or a cluster of three on loopback (`corral-3`: each
 * member `node dist/main.mjs --id i --members ... --cluster-secret ...`, the bundle `npm run
 * build` makes, built once per bench run; a Corral root without a build script runs src/main.ts
 * under tsx, so older commits can be compared), driven through the HTTP API with node:http
 * keep-alive sockets, requests spread round-robin over the members (a follower forwards writes
 * to the leader, as ZooKeeper's followers do), and watched through session-less SSE streams
 * (`GET /v1/watch/{path}`, persistent, one connection per watcher, spread over the members).
 *
 * `CORRAL_BENCH_TLS=1` in a deployment's environment serves HTTPS (certificates from
 * scripts/dev-pki.ts) and drives it with HTTP/1.1 over TLS: what TLS costs against the same build.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createParser } from 'eventsource-parser';
import { makeDevPki } from '../../scripts/dev-pki.ts';
import { HttpClient, openStream } from '../http-client.ts';
import { freePort, makeTempDir, ManagedProcess, pollUntil, removeTempDir, startWithFreshPorts } from '../servers/managed-process.ts';
import type { Deployment, EventListener, KvClient, StartOptions, Target, Watcher } from './target.ts';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const READY_TIMEOUT_MS = 120_000;
const OPS_PER_MULTI_MAX = 1000;
const COUNTERS = [
  'corral_log_fsync_duration_seconds_sum', 'corral_log_fsync_duration_seconds_count',
  'corral_log_batch_entries_sum', 'corral_log_batch_entries_count',
  'corral_checkpoint_duration_seconds_sum', 'corral_checkpoint_duration_seconds_count',
];

const urls = new Map<string, string>();
/** A znode's URL under `prefix`, percent-encoded once per path (the workloads repeat them). */
function znodeUrl(prefix: string, path: string): string {
  const key = `${prefix}${path}`;
  let url = urls.get(key);
  if (url === undefined) {
    url = `${prefix}${path.split('/').map(encodeURIComponent).join('/')}`;
    if (urls.size >= 100_000) urls.clear();
    urls.set(key, url);
  }
  return url;
}
const OCTETS = { 'content-type': 'application/octet-stream' };

/**
 * `CORRAL_BENCH_BASIC=user:password` in a deployment's environment (bench/compare.ts takes
 * KEY=VALUE per build): its client sends that Basic credential on every request and creates the
 * fixture with `auth::cdrwa`, so every call authenticates and passes a digest ACL check — what
 * auth on costs against the same build without it.
 */
interface Credential {
  readonly authorization: string;
}

function credentialOf(env: NodeJS.ProcessEnv): Credential | undefined {
  const basic = env['CORRAL_BENCH_BASIC'];
  return basic ? { authorization: `Basic ${Buffer.from(basic).toString('base64')}` } : undefined;
}

export class CorralClient implements KvClient {
  private next = 0;
  private readonly octets: Record<string, string>;
  private readonly plain: Record<string, string>;
  private readonly jsonHeaders: Record<string, string>;

  constructor(private readonly members: readonly HttpClient[], private readonly credential?: Credential) {
    const auth: Record<string, string> = credential ? { authorization: credential.authorization } : {};
    this.octets = { ...OCTETS, ...auth };
    this.plain = auth;
    this.jsonHeaders = { 'content-type': 'application/json', ...auth };
  }

  private pick(): HttpClient {
    const member = this.members[this.next]!;
    this.next = (this.next + 1) % this.members.length;
    return member;
  }

  async setData(path: string, data: Buffer, wantToken = false): Promise<string> {
    const reply = await this.pick().expect('PUT', znodeUrl('/v1/znodes', path), 200, data, this.octets);
    // One writer: the zxid the node applied when it answered is this write's.
    return wantToken ? String(reply.headers['zk-zxid']) : '';
  }

  getData(path: string): Promise<unknown> {
    return this.pick().expect('GET', znodeUrl('/v1/znodes', path), 200, undefined, this.plain);
  }

  async create(path: string, data: Buffer): Promise<void> {
    await this.pick().expect('POST', znodeUrl('/v1/znodes', path), 201, data, this.credential ? { ...this.octets, 'zk-acl': 'auth::cdrwa' } : this.octets);
  }

  async createMany(paths: readonly string[], data: Buffer): Promise<void> {
    const text = data.toString('utf8');
    for (let i = 0; i < paths.length; i += OPS_PER_MULTI_MAX) {
      const acl = this.credential ? { acl: 'auth::cdrwa' } : {};
      const ops = paths.slice(i, i + OPS_PER_MULTI_MAX).map((path) => ({ op: 'create', path, data: text, ...acl }));
      await this.pick().expect('POST', '/v1/multi', 200, JSON.stringify({ ops }), this.jsonHeaders);
    }
  }

  async close(): Promise<void> {
    for (const member of this.members) member.close();
  }
}

/** A session-less persistent watch: one SSE stream per watcher; events carry the zxid. */
export async function sseWatcher(baseUrl: string, path: string, onEvent: EventListener): Promise<Watcher> {
  let connected: (() => void) | undefined;
  const ready = new Promise<void>((resolveReady) => (connected = resolveReady));
  // Arrival time of the chunk being fed: the parser calls back synchronously inside feed().
  let at = 0;
  const parser = createParser({
    onComment: (text) => {
      if (text.trim().startsWith('connected')) connected?.();
    },
    onEvent: (message) => {
      if (message.event === 'watch') onEvent(String((JSON.parse(message.data) as { zxid: unknown }).zxid), at);
    },
  });
  const stream = openStream(baseUrl, 'GET', `${znodeUrl('/v1/watch', path)}?recursive=false`, undefined,
    { accept: 'text/event-stream' }, (text) => {
      at = performance.now();
      parser.feed(text);
    }, () => undefined);
  await stream.opened;
  await ready;
  return { arm: async () => undefined, close: () => stream.close() };
}

/**
 * The load generator is one client address with many connections, sessions and streams: the
 * per-caller limits are off, as ZooKeeper's benchmark runs with maxClientCnxns=0. Environment
 * variables, not flags, so a build from before these limits (bench/compare.ts) starts too.
 */
const UNLIMITED_CLIENTS: Record<string, string> = {
  CORRAL_MAX_CONNECTIONS_PER_ADDRESS: '0', CORRAL_MAX_SESSIONS_PER_CALLER: '0', CORRAL_MAX_STREAMS_PER_CALLER: '0',
  // watch-10k holds 10,000 streams on one member (the default node limit) plus a round's stragglers.
  CORRAL_MAX_STREAMS: '50000',
};

export interface Member {
  readonly baseUrl: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Given at spawn, beside UNLIMITED_CLIENTS (the cluster secret: out of the process list). */
  readonly env: Readonly<Record<string, string>>;
  /** The CA of an https:// baseUrl. */
  readonly ca?: Buffer;
}

/** Spawns every member; resolves once each answers /readyz 200 (a cluster: it has a leader and is caught up). */
export async function spawnAll(members: readonly Member[]): Promise<{ processes: ManagedProcess[]; readyMs: number }> {
  const started = performance.now();
  const processes = members.map((m, i) => new ManagedProcess({
    name: `corral-${i + 1}`, command: process.execPath, args: [...m.args], cwd: m.cwd, env: { ...UNLIMITED_CLIENTS, ...m.env },
  }));
  const probes = members.map((m) => new HttpClient(m.baseUrl, 1, m.ca));
  try {
    const ready = await pollUntil(async () => {
      if (processes.some((p) => !p.running)) return true;
      const replies = await Promise.all(probes.map((p) => p.request('GET', '/readyz').catch(() => undefined)));
      return replies.every((r) => r?.status === 200);
    }, READY_TIMEOUT_MS, 5);
    const dead = processes.find((p) => !p.running);
    if (!ready || dead) {
      const how = dead ? dead.exitDescription : 'timed out';
      await Promise.all(processes.map((p) => p.stop()));
      throw new Error(`corral did not become ready (${how}): ${(dead ?? processes[0]!).outputTail.slice(-2000)}`);
    }
    return { processes, readyMs: performance.now() - started };
  } finally {
    for (const probe of probes) probe.close();
  }
}

class CorralDeployment implements Deployment {
  readonly oneShotWatches = false;

  constructor(readonly target: string, private processes: ManagedProcess[], private readonly members: readonly Member[],
    private readonly dataDir: string, private readonly credential = credentialOf(process.env)) {}

  get nodes(): number {
    return this.members.length;
  }

  /** CPU seconds of the members' event loops alone (their main threads). */
  mainThreadCpuSeconds(): number {
    return this.processes.reduce((sum, p) => sum + p.mainThreadCpuSeconds(), 0);
  }

  async client(inFlight: number): Promise<KvClient> {
    return new CorralClient(this.members.map((m) => new HttpClient(m.baseUrl, inFlight, m.ca)), this.credential);
  }

  /** The members' HTTP ports, for the watch-scale subscribers (bench/workloads/watch-scale.ts). */
  scaleEndpoints(): { kind: 'corral'; ports: number[] } {
    if (this.members.some((m) => m.ca !== undefined)) throw new Error('watch workloads run without CORRAL_BENCH_TLS');
    return { kind: 'corral', ports: this.members.map((m) => Number(new URL(m.baseUrl).port)) };
  }

  watcher(path: string, index: number, onEvent: EventListener): Promise<Watcher> {
    const member = this.members[index % this.members.length]!;
    if (member.ca !== undefined) return Promise.reject(new Error('watch workloads run without CORRAL_BENCH_TLS'));
    return sseWatcher(member.baseUrl, path, onEvent);
  }

  rssBytes(): number[] {
    return this.processes.map((p) => p.rssBytes() ?? 0);
  }

  cpuSeconds(): number {
    return this.processes.reduce((sum, p) => sum + p.cpuSeconds(), 0);
  }

  exitDetail(): string | undefined {
    return this.processes.map((p) => p.exitDetail()).find((d) => d !== undefined);
  }

  async restart(): Promise<number> {
    await Promise.all(this.processes.map((p) => p.stop()));
    const started = await spawnAll(this.members);
    this.processes = started.processes;
    return started.readyMs;
  }

  /** The first member's counters (the memory workload runs on one node). */
  async counters(): Promise<Record<string, number>> {
    const http = new HttpClient(this.members[0]!.baseUrl, 1, this.members[0]!.ca);
    try {
      const text = (await http.expect('GET', '/metrics', 200)).body.toString('utf8');
      const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? 0);
      return Object.fromEntries(COUNTERS.map((name) => [name, value(name)]));
    } finally {
      http.close();
    }
  }

  async checkpointStats(): Promise<{ count: number; totalSeconds: number }> {
    const c = await this.counters();
    return { count: c.corral_checkpoint_duration_seconds_count!, totalSeconds: c.corral_checkpoint_duration_seconds_sum! };
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    removeTempDir(this.dataDir);
  }
}

const entryByRoot = new Map<string, readonly string[]>();

/** The flags a `start` script passes to node before `dist/main.mjs` (none when it passes none). */
export function nodeFlagsOf(startScript: string): string[] {
  const flags = /\bnode((?: --[\w-]+(?:=\S+)?)*) dist\/main\.mjs/.exec(startScript)?.[1] ?? '';
  return flags.split(' ').filter(Boolean);
}

/**
 * How node runs Corral from `root`: its bundle, built here once per run, with the node flags its
 * `npm start` passes (V8's heap settings: the bench runs what a user runs).
 */
export function corralEntry(root: string): readonly string[] {
  let entry = entryByRoot.get(root);
  if (!entry) {
    const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts ?? {};
    if (scripts.build) execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    entry = scripts.build ? [...nodeFlagsOf(String(scripts.start ?? '')), 'dist/main.mjs'] : ['--import', 'tsx', 'src/main.ts'];
    entryByRoot.set(root, entry);
  }
  return entry;
}

/**
 * Each member's command line: one node alone, or `--id/--members` (and the secret) for a cluster,
 * `observers` more members after the `size` voters (`/observer`, `--role observer`); HTTPS with CORRAL_BENCH_TLS.
 */
async function memberArgs(size: number, observers: number, dataDir: string, options: StartOptions, tls: boolean): Promise<Member[]> {
  const ports = await Promise.all(Array.from({ length: size + observers }, async () => ({ client: await freePort(), peer: await freePort() })));
  const roleOf = (i: number) => (i < size ? 'participant' : 'observer');
  // Roles are named only when there are observers: a voters-only command line is also one that
  // builds from before roles existed accept (bench/compare.ts runs them with this file).
  const roleSuffix = (i: number) => (observers > 0 ? `/${roleOf(i)}` : '');
  const cluster = ports.map((p, i) => `${i + 1}=127.0.0.1:${p.client}/127.0.0.1:${p.peer}${roleSuffix(i)}`).join(',');
  const secret = randomBytes(24).toString('base64url');
  const nodeFlags = options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir] : [];
  const cwd = options.corralRoot ?? REPO_ROOT;
  const entry = corralEntry(cwd);
  const pki = tls || process.env['CORRAL_BENCH_TLS'] ? makeDevPki(join(dataDir, 'pki')) : undefined;
  const ca = pki && readFileSync(pki.ca.cert);
  return ports.map((p, i) => {
    const args = [...nodeFlags, ...entry, '--host', '127.0.0.1', '--port', String(p.client),
      '--data-dir', size === 1 ? join(dataDir, 'data') : join(dataDir, `n${i + 1}`), '--log-level', 'warn'];
    if (size > 1) args.push('--id', String(i + 1), ...(observers > 0 ? ['--role', roleOf(i)] : []), '--members', cluster);
    if (pki) args.push('--tls-cert', pki.server.cert, '--tls-key', pki.server.key);
    if (options.checkpointEveryEntries !== undefined) args.push('--checkpoint-every-entries', String(options.checkpointEveryEntries));
    const env: Record<string, string> = size > 1 ? { CORRAL_CLUSTER_SECRET: secret } : {};
    return { baseUrl: `${pki ? 'https' : 'http'}://127.0.0.1:${p.client}`, args, cwd, env, ...(ca ? { ca } : {}) };
  });
}

/** `observers`: non-voting members beside the `nodes` voters; requests are spread over all of them. */
function corralTargetOf(name: string, nodes: 1 | 3, observers = 0, tls = false): Target {
  return {
    name, nodes, bulkBatchMax: OPS_PER_MULTI_MAX,
    availability: () => ({ ok: true }),
    start: (options: StartOptions) => startWithFreshPorts(async () => {
      const dataDir = makeTempDir('corral-bench-', options.workDir);
      try {
        const members = await memberArgs(nodes, observers, dataDir, options, tls);
        const { processes, readyMs } = await spawnAll(members);
        return { deployment: new CorralDeployment(name, processes, members, dataDir), readyMs };
      } catch (error) {
        removeTempDir(dataDir);
        throw error;
      }
    }),
  };
}

export const corralTarget = corralTargetOf('corral', 1);
export const corral3Target = corralTargetOf('corral-3', 3);
/** Three voters and two observers (read scale-out): compared with corral-3 in its rows. */
export const corral3Observers2Target = corralTargetOf('corral-3+2obs', 3, 2);
/** One node serving HTTPS (as CORRAL_BENCH_TLS=1 does for every Corral target), to run beside `zookeeper-tls` (opt-in). */
export const corralTlsTarget = corralTargetOf('corral-tls', 1, 0, true);

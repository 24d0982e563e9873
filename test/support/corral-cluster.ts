/**
 * A real Corral cluster on loopback for fault-injection tests: N processes
 * (`node --import tsx src/main.ts --id i --members ...`), each with its own temp data dir, free
 * client and peer ports, a random cluster secret and a fast consensus tick, and one FaultProxy per
 * DIRECTED peer link: node i's `--members` names, for every peer j, the proxy (i→j) that forwards
 * to j's real peer port, so a test can cut, blackhole or delay any link (the followers' writes
 * forwarded to the leader, and its answers, ride these links too). Client HTTP goes straight to
 * the nodes, never through a proxy.
 *
 * Invariants: only 127.0.0.1; every wait is bounded (waitFor, request timeouts); close() leaves no
 * process, proxy or directory behind and is safe to call twice (call it in afterEach).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { CorralProcess, makeTempDir, removeDir, waitFor } from './corral-process.ts';
import { FaultProxy, type FaultMode } from './fault-proxy.ts';

const HOST = '127.0.0.1';
/** A process start (tsx, SQLite, the first fsyncs) on loaded shared cores can take long. */
const START_TIMEOUT_MS = 60_000;
const VIEW_TIMEOUT_MS = 1500;
const START_ATTEMPTS = 3;

// ---- ports ---------------------------------------------------------------------------------------

/** The kernel's range for outgoing connections' local ports (Linux), or the usual one. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * A free port BELOW the ephemeral range: members keep their ports across restarts, and the
 * workload opens thousands of short connections whose local ports come from that range, one of
 * which could take a dead member's port before it restarts.
 */
async function stablePort(taken: Set<number>): Promise<number> {
  const [low] = ephemeralRange();
  const top = Math.min(low, 65536);
  const bottom = Math.max(1024, top - 12_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = randomInt(bottom, top);
    if (taken.has(port) || !(await canListen(port))) continue;
    taken.add(port);
    return port;
  }
  throw new Error(`no free port in [${bottom}, ${top})`);
}

// ---- one HTTP request, every outcome a value ----------------------------------------------------

export type Reply =
  | { readonly kind: 'reply'; readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: any }
  /** The TCP connection was refused: nothing was sent, so nothing can have been applied. */
  | { readonly kind: 'refused'; readonly error: string }
  /** Sent (or possibly sent) but no complete answer: a timeout or a reset. */
  | { readonly kind: 'failed'; readonly error: string; readonly timedOut?: boolean };

export interface RequestOptions {
  readonly body?: string | object;
  readonly headers?: Record<string, string>;
  readonly timeoutMs: number;
}

/** No keep-alive: a pooled socket to a node that was killed would turn a fresh request into a reset. */
const noKeepAlive = new Agent({ keepAlive: false });

/** One request over node:http with an overall deadline; never rejects. JSON bodies are parsed. */
export function request(method: string, url: string, options: RequestOptions): Promise<Reply> {
  const { body, timeoutMs } = options;
  const isJson = body !== undefined && typeof body !== 'string';
  const payload = body === undefined ? undefined : isJson ? JSON.stringify(body) : body;
  const headers: Record<string, string | number> = { ...options.headers };
  if (isJson) headers['content-type'] = 'application/json';
  if (payload !== undefined) headers['content-length'] = Buffer.byteLength(payload);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (reply: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(reply);
    };
    const req = httpRequest(url, { method, headers, agent: noKeepAlive }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => settle({ kind: 'failed', error: error.message }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const json = (res.headers['content-type'] ?? '').includes('json') && text !== '';
        let parsed: unknown = text;
        try {
          if (json) parsed = JSON.parse(text);
        } catch {
          // a truncated body: keep the text
        }
        settle({ kind: 'reply', status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`timed out after ${timeoutMs} ms`));
      settle({ kind: 'failed', error: `${method} ${url} timed out after ${timeoutMs} ms`, timedOut: true });
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => {
      settle(error.code === 'ECONNREFUSED' ? { kind: 'refused', error: error.message } : { kind: 'failed', error: error.message });
    });
    req.end(payload);
  });
}

// ---- the cluster ---------------------------------------------------------------------------------

export interface MemberView {
  readonly id: number;
  readonly role: string;
  readonly lag: number | null;
  readonly connected: boolean;
}

/** GET /v1/cluster. */
export interface ClusterView {
  readonly self: number;
  readonly role: 'leader' | 'follower' | 'looking';
  readonly leader: number | null;
  readonly epoch: number;
  readonly lastZxid: string;
  readonly commitZxid: string;
  readonly members: readonly MemberView[];
}

export interface ClusterOptions {
  /** Voters: ids 1..size. */
  readonly size?: number;
  /** Observers (`/observer` in --members, `--role observer`) after them: ids size+1..size+observers. */
  readonly observers?: number;
  readonly raftTickMs?: number;
  /** More flags for every node (e.g. `--tick-time-ms`). */
  readonly extraArgs?: readonly string[];
  readonly logLevel?: string;
}

interface Member {
  readonly id: number;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  proc: CorralProcess | undefined;
  paused: boolean;
  /** Output of the member's earlier processes (before restarts). */
  earlierOutput: string;
}

export class CorralCluster {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly members: readonly Member[],
    /** `${from}>${to}` → the proxy that carries from's connections to to's peer port. */
    private readonly proxies: ReadonlyMap<string, FaultProxy>,
    private readonly args: (id: number) => string[],
  ) {}

  /** Starts a cluster; a member that could not bind its port (taken meanwhile) means a new try on new ports. */
  static async start(options: ClusterOptions = {}): Promise<CorralCluster> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await CorralCluster.startOnce(options);
      } catch (error) {
        if (attempt >= START_ATTEMPTS || !String((error as Error).message).includes('EADDRINUSE')) throw error;
      }
    }
  }

  private static async startOnce(options: ClusterOptions): Promise<CorralCluster> {
    const size = options.size ?? 3;
    const ids = Array.from({ length: size + (options.observers ?? 0) }, (_, i) => i + 1);
    const role = (id: number) => (id > size ? 'observer' : 'participant');
    const members: Member[] = [];
    const proxies = new Map<string, FaultProxy>();
    const secret = randomBytes(24).toString('base64url');
    const args = (id: number): string[] => {
      const list = members.map((m) => {
        const peerPort = m.id === id ? m.peerPort : proxies.get(`${id}>${m.id}`)!.port;
        return `${m.id}=${HOST}:${m.clientPort}/${HOST}:${peerPort}/${role(m.id)}`;
      });
      return ['--id', String(id), '--role', role(id), '--members', list.join(','), `--cluster-secret=${secret}`,
        '--raft-tick-ms', String(options.raftTickMs ?? 50), ...(options.extraArgs ?? []), '--log-level', options.logLevel ?? 'info'];
    };
    // Built before anything can fail, so close() finds whatever was started.
    const cluster = new CorralCluster(members, proxies, args);
    try {
      const taken = new Set<number>();
      for (const id of ids) {
        members.push({ id, clientPort: await stablePort(taken), peerPort: await stablePort(taken), dataDir: makeTempDir(`corral-cluster-n${id}-`), proc: undefined, paused: false, earlierOutput: '' });
      }
      for (const from of members) {
        for (const to of members) {
          if (from.id !== to.id) proxies.set(`${from.id}>${to.id}`, await FaultProxy.start({ target: { host: HOST, port: to.peerPort } }));
        }
      }
      for (const m of members) cluster.spawn(m);
      await Promise.all(members.map((m) => m.proc!.waitHealthy(START_TIMEOUT_MS)));
      await cluster.leader({ timeoutMs: START_TIMEOUT_MS });
      await cluster.linked(START_TIMEOUT_MS);
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  get ids(): number[] {
    return this.members.map((m) => m.id);
  }

  /** Client URL of every member, dead or alive, by id order. */
  get urls(): string[] {
    return this.members.map((m) => this.url(m.id));
  }

  url(id: number): string {
    return `http://${HOST}:${this.member(id).clientPort}`;
  }

  /** Members whose process runs and is not stopped. */
  get liveIds(): number[] {
    return this.members.filter((m) => m.proc?.running === true && !m.paused).map((m) => m.id);
  }

  isRunning(id: number): boolean {
    return this.member(id).proc?.running === true;
  }

  /** How member `id`'s process ended ("code 1", "signal SIGSEGV"), or 'running'. */
  exitOf(id: number): string {
    const exit = this.member(id).proc?.exit;
    if (exit === undefined) return 'running';
    return exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
  }

  /** GET /v1/cluster of one member, or undefined if it does not answer in time. */
  async view(id: number, timeoutMs = VIEW_TIMEOUT_MS): Promise<ClusterView | undefined> {
    const reply = await request('GET', `${this.url(id)}/v1/cluster`, { timeoutMs });
    return reply.kind === 'reply' && reply.status === 200 ? (reply.body as ClusterView) : undefined;
  }

  /**
   * Polls /v1/cluster on `among` (default: every live member) until all of them name the same
   * leader, which is one of them and calls itself leader; returns its id. Bounded.
   */
  async leader(options: { among?: readonly number[]; timeoutMs?: number } = {}): Promise<number> {
    return waitFor(async () => {
      const among = options.among ?? this.liveIds;
      const views = await Promise.all(among.map((id) => this.view(id)));
      if (views.length === 0 || views.some((v) => v === undefined)) return undefined;
      const leader = views[0]!.leader;
      if (leader === null || !among.includes(leader)) return undefined;
      if (!views.every((v) => v!.leader === leader && v!.epoch === views[0]!.epoch)) return undefined;
      return views.find((v) => v!.self === leader)?.role === 'leader' ? leader : undefined;
    }, { timeoutMs: options.timeoutMs ?? 15_000, what: `one leader among ${(options.among ?? this.liveIds).join(',')}` });
  }

  /**
   * Waits until every live member has its link to every other one up (a formed cluster: a
   * follower that names the leader may still be redialing it, and its forwards would be 503s).
   */
  async linked(timeoutMs = 15_000): Promise<void> {
    await waitFor(async () => {
      const live = this.liveIds;
      const views = await Promise.all(live.map((id) => this.view(id)));
      const up = (view: ClusterView | undefined) => view !== undefined && view.members.every((m) => m.connected || !live.includes(m.id));
      return views.every(up) || undefined;
    }, { timeoutMs, what: `links between ${this.liveIds.join(',')}` });
  }

  /** SIGKILL, and wait for the exit. */
  async kill(id: number): Promise<void> {
    const m = this.member(id);
    await m.proc?.kill();
    m.paused = false;
  }

  /** SIGTERM (a graceful stop: a leader hands leadership over first), and wait for the exit. */
  async terminate(id: number, timeoutMs = 30_000): Promise<void> {
    const m = this.member(id);
    m.proc?.signal('SIGTERM');
    await m.proc?.waitExit(timeoutMs);
    m.paused = false;
  }

  /** Starts a killed member again: same id, ports, secret and data dir; waits until it serves. */
  async restart(id: number): Promise<void> {
    const m = this.member(id);
    if (m.proc?.running) throw new Error(`member ${id} is still running`);
    this.spawn(m);
    await m.proc!.waitHealthy(START_TIMEOUT_MS);
  }

  /** SIGSTOP: the process freezes with its sockets open (a long GC pause, a stalled VM). */
  pause(id: number): void {
    const m = this.member(id);
    if (!m.proc?.running) throw new Error(`member ${id} is not running`);
    m.proc.signal('SIGSTOP');
    m.paused = true;
  }

  resume(id: number): void {
    const m = this.member(id);
    m.proc?.signal('SIGCONT');
    m.paused = false;
  }

  /** Sets every proxy on the links from and to `id`. */
  isolate(id: number, mode: FaultMode): void {
    for (const [key, proxy] of this.proxies) {
      const [from, to] = key.split('>').map(Number);
      if (from === id || to === id) proxy.setMode(mode);
    }
  }

  /** Sets one directed link. */
  link(from: number, to: number, mode: FaultMode): void {
    const proxy = this.proxies.get(`${from}>${to}`);
    if (!proxy) throw new Error(`no link ${from}>${to}`);
    proxy.setMode(mode);
  }

  /** Every link back to 'pass'. */
  heal(): void {
    for (const proxy of this.proxies.values()) proxy.setMode('pass');
  }

  /**
   * Undoes every fault: links healed, stopped members resumed, dead ones restarted; resolves
   * once all members agree on a leader and their links are up (bounded). For reusing one
   * cluster across tests.
   */
  async restore(timeoutMs = 20_000): Promise<void> {
    this.heal();
    for (const m of this.members) {
      if (m.paused) this.resume(m.id);
      if (!m.proc?.running) await this.restart(m.id);
    }
    await this.leader({ among: this.ids, timeoutMs });
    await this.linked(timeoutMs);
  }

  /** Everything member `id` logged on stdout (pino JSON lines), its earlier processes included. */
  output(id: number): string {
    const m = this.member(id);
    return `${m.earlierOutput}${m.proc?.stdout ?? ''}`;
  }

  /** The last `lines` log lines of each member (for failure reports). */
  logs(lines = 40): string {
    return this.members.map((m) => {
      const text = `${m.earlierOutput}${m.proc?.stdout ?? ''}${m.proc?.stderr ?? ''}`.trim().split('\n').slice(-lines).join('\n');
      return `--- node ${m.id} (${m.proc?.running ? (m.paused ? 'paused' : 'running') : 'down'}) ---\n${text}`;
    }).join('\n');
  }

  /** Lines of each member's log that record role changes (compact election history). */
  roleLog(): string {
    return this.members.map((m) => {
      const output = `${m.earlierOutput}${m.proc?.stdout ?? ''}`;
      const roles = output.split('\n').filter((l) => l.includes('"event":"role"') || l.includes('"event":"recovered"')).map((l) => {
        try {
          const e = JSON.parse(l) as { time?: number; event?: string; role?: string; term?: number };
          return e.event === 'recovered' ? `${e.time ?? ''} (re)started` : `${e.time ?? ''} ${e.role}@${e.term}`;
        } catch {
          return l;
        }
      });
      return `node ${m.id}: ${roles.join(', ')}`;
    }).join('\n');
  }

  /** Kills every process (stopped ones too), closes every proxy, removes the data dirs. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.members.map((m) => m.proc?.kill().catch(() => undefined)));
      await Promise.all([...this.proxies.values()].map((p) => p.close()));
      for (const m of this.members) removeDir(m.dataDir);
    })();
    return this.closing;
  }

  private spawn(m: Member): void {
    if (this.closing) throw new Error('the cluster is closed');
    if (m.proc) m.earlierOutput += `${m.proc.stdout}${m.proc.stderr}`;
    m.proc = new CorralProcess(m.dataDir, m.clientPort, this.args(m.id));
    m.paused = false;
  }

  private member(id: number): Member {
    const m = this.members.find((x) => x.id === id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }
}

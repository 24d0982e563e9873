/**
 * The client workload of the cluster tests (etcd robustness / Jepsen style): K concurrent clients,
 * each with one request in flight, each request to a random member (another one after a refused
 * connection, a reset, a timeout or a 503). On a few keys (/lin/k0..) they create, setData and
 * delete with UNIQUE values, compare-and-set with the version they last saw, read linearizably
 * (`?consistency=linearizable`), and read plainly with the newest Zk-Zxid they have seen as
 * Zk-Min-Zxid.
 *
 * Recorded for the checks: every operation with its call and return time (performance.now),
 * input and output, in the linearizability checker's shape (plain reads are not linearizable by
 * contract and go to `reads` for the prefix check instead; linearizable reads go to both).
 * Outcomes:
 * - a refused connection: nothing was sent, the operation is left out;
 * - a write answered 503, reset or timed out: unknown (return Infinity, output unknown);
 * - a read answered 503 or not at all: dropped;
 * - any other status than the expected ones: a protocol error, reported by the checks.
 * Bounded: per-request timeout, total duration, and stop() waits at most one request timeout.
 */
import type { Operation } from '../linearizability/checker.ts';
import type { ZnodeInput, ZnodeOutput } from '../linearizability/model.ts';
import { request, type Reply } from '../support/corral-cluster.ts';
import { Prng } from '../support/prng.ts';

/** The parent of the keys by default; a run on a shared cluster takes its own. */
export const DEFAULT_ROOT = '/lin';
const BACKOFF_MS = 100;
/** A member that failed a request is avoided this long (unless every member is), like a ZooKeeper client moving on. */
const SUSPECT_MS = 1000;
const FINAL_READ_ATTEMPTS = 20;

export type LinOperation = Operation<ZnodeInput, ZnodeOutput> & {
  readonly node: number;
  /** Zk-Zxid of the answer (0 when none). */
  readonly zxid: bigint;
  /** The znode's mzxid in the answer (create, setData, read of an existing node); 0 otherwise. */
  readonly mzxid: bigint;
};

/** A read (plain or linearizable) with what the prefix check needs. */
export interface ReadRecord {
  readonly clientId: number;
  readonly node: number;
  readonly path: string;
  readonly linearizable: boolean;
  readonly call: number;
  readonly return: number;
  readonly minZxid: bigint;
  /** Zk-Zxid of the answer: the node had applied this much when it answered. */
  readonly zxid: bigint;
  readonly exists: boolean;
  readonly data?: string;
  readonly version?: number;
  readonly mzxid?: bigint;
}

export interface WorkloadOptions {
  readonly urls: readonly string[];
  /** The keys are `${root}/k0`, `${root}/k1`...; the root must exist. */
  readonly root?: string;
  readonly seed: number;
  readonly clients?: number;
  readonly keys?: number;
  readonly requestTimeoutMs?: number;
  /** The workload stops by itself after this long (a bound, not the plan: tests call stop()). */
  readonly maxDurationMs?: number;
}

export interface WorkloadStats {
  acked: number;
  unknown: number;
  /** Requests not answered within the request timeout (writes among them are unknown too). */
  timeouts: number;
  failedReads: number;
  reads: number;
  refused: number;
}

export class Workload {
  readonly history: LinOperation[] = [];
  readonly reads: ReadRecord[] = [];
  /** Answers that fit no expected outcome (500, 400, a 200 without a stat...). */
  readonly protocolErrors: string[] = [];
  readonly stats: WorkloadStats = { acked: 0, unknown: 0, timeouts: 0, failedReads: 0, reads: 0, refused: 0 };
  /** Highest Zk-Zxid any client saw. */
  maxZxid = 0n;
  private stopped = false;
  private readonly loops: Promise<void>[];
  private readonly requestTimeoutMs: number;
  private readonly keys: number;
  private readonly deadline: number;
  private readonly maxDurationMs: number;
  readonly root: string;

  constructor(readonly options: WorkloadOptions) {
    this.root = options.root ?? DEFAULT_ROOT;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 3000;
    this.keys = options.keys ?? 4;
    this.maxDurationMs = options.maxDurationMs ?? 60_000;
    this.deadline = performance.now() + this.maxDurationMs;
    const clients = options.clients ?? 4;
    this.loops = Array.from({ length: clients }, (_, i) => new Client(this, i, new Prng(options.seed * 31 + i)).run());
  }

  get running(): boolean {
    return !this.stopped && performance.now() < this.deadline;
  }

  get keyCount(): number {
    return this.keys;
  }

  keyPath(k: number): string {
    return `${this.root}/k${k}`;
  }

  get timeoutMs(): number {
    return this.requestTimeoutMs;
  }

  /** Waits (bounded) until `count` more writes have been acknowledged from now on. */
  async waitForAcks(count: number, timeoutMs: number, what = `${count} acknowledged writes`): Promise<void> {
    const target = this.stats.acked + count;
    const deadline = performance.now() + timeoutMs;
    while (this.stats.acked < target) {
      if (!this.running) throw new Error(`the workload stopped (after its ${this.maxDurationMs} ms bound, or stop()) before ${what}`);
      if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (stats ${JSON.stringify(this.stats)})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops every client after its request in flight (bounded by the request timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** A final linearizable read of every key through `url`, recorded like the others (after stop()). */
  async finalReads(url: string, node: number): Promise<void> {
    const client = new Client(this, 1000 + node, new Prng(node));
    for (let k = 0; k < this.keys; k++) {
      // A read that could not confirm the commit point (503) is dropped, as in the workload: try again.
      for (let attempt = 1; !(await client.read(url, node, this.keyPath(k), true)); attempt++) {
        if (attempt >= FINAL_READ_ATTEMPTS) throw new Error(`no final read of ${this.keyPath(k)} on node ${node} in ${attempt} attempts`);
        await new Promise((r) => setTimeout(r, BACKOFF_MS * attempt));
      }
    }
  }

  seen(zxid: bigint): void {
    if (zxid > this.maxZxid) this.maxZxid = zxid;
  }
}

function zxidOf(reply: Reply): bigint {
  if (reply.kind !== 'reply') return 0n;
  const raw = reply.headers['zk-zxid'];
  return typeof raw === 'string' && /^\d+$/.test(raw) ? BigInt(raw) : 0n;
}

class Client {
  private seq = 0;
  /** Last version seen per key (for compare-and-set and delete). */
  private readonly versions = new Map<string, number>();
  private lastZxid = 0n;
  /** Member index → until when it is avoided. */
  private readonly suspectUntil = new Map<number, number>();

  constructor(private readonly workload: Workload, private readonly id: number, private readonly rng: Prng) {}

  async run(): Promise<void> {
    const { urls } = this.workload.options;
    for (let i = 0; i < 1_000_000 && this.workload.running; i++) {
      const node = this.pickNode(urls.length);
      const ok = await this.step(urls[node]!, node + 1);
      if (ok) continue;
      this.suspectUntil.set(node, performance.now() + SUSPECT_MS);
      await new Promise((r) => setTimeout(r, BACKOFF_MS));
    }
  }

  /** A random member, among those not suspected if there are any. */
  private pickNode(count: number): number {
    const now = performance.now();
    const all = Array.from({ length: count }, (_, i) => i);
    const trusted = all.filter((i) => (this.suspectUntil.get(i) ?? 0) <= now);
    return this.rng.pick(trusted.length > 0 ? trusted : all);
  }

  /** One random operation; false when the node did not answer usefully (try another one). */
  private step(url: string, node: number): Promise<boolean> {
    const path = this.workload.keyPath(this.rng.int(this.workload.keyCount));
    const value = `c${this.id}-${this.seq++}`;
    const r = this.rng.next();
    if (r < 0.1) return this.write(url, node, { op: 'create', path, data: value });
    if (r < 0.35) return this.write(url, node, { op: 'write', path, data: value });
    if (r < 0.55) return this.write(url, node, { op: 'cas', path, data: value, version: this.versions.get(path) ?? 0 });
    if (r < 0.6) return this.write(url, node, { op: 'delete', path, version: this.versions.get(path) ?? -1 });
    return this.read(url, node, path, r < 0.8);
  }

  private async write(url: string, node: number, input: Exclude<ZnodeInput, { op: 'read' }>): Promise<boolean> {
    const target = `${url}/v1/znodes${input.path}`;
    const timeoutMs = this.workload.timeoutMs;
    const call = performance.now();
    const reply =
      input.op === 'create' ? await request('POST', target, { body: input.data, timeoutMs })
      : input.op === 'write' ? await request('PUT', target, { body: input.data, timeoutMs })
      : input.op === 'cas' ? await request('PUT', `${target}?version=${input.version}`, { body: input.data, timeoutMs })
      : await request('DELETE', `${target}?version=${input.version}`, { timeoutMs });
    const ret = performance.now();
    this.count(reply);
    if (reply.kind === 'refused') return false;
    const zxid = zxidOf(reply);
    this.sawZxid(zxid);
    const record = (output: ZnodeOutput, returned: number, mzxid = 0n) =>
      this.workload.history.push({ clientId: this.id, input, call, return: returned, output, node, zxid, mzxid });
    if (reply.kind === 'failed' || reply.status === 503) {
      this.workload.stats.unknown++;
      record({ ok: 'unknown' }, Infinity);
      return false;
    }
    const { status, body } = reply;
    if ((status === 200 || status === 201) && typeof body?.stat?.version === 'number') {
      this.workload.stats.acked++;
      this.versions.set(input.path, body.stat.version);
      record({ ok: true, version: body.stat.version }, ret, BigInt(body.stat.mzxid));
      return true;
    }
    if (status === 204 && input.op === 'delete') {
      this.workload.stats.acked++;
      this.versions.delete(input.path);
      record({ ok: true }, ret);
      return true;
    }
    const code = body?.code;
    if ((status === 409 && (code === 'BADVERSION' || code === 'NODEEXISTS')) || (status === 404 && code === 'NONODE')) {
      record({ ok: false, code }, ret);
      // The version we knew is stale: the next read learns the current one.
      if (code !== 'NODEEXISTS') this.versions.delete(input.path);
      return true;
    }
    this.workload.protocolErrors.push(`client ${this.id} ${input.op} ${input.path} on node ${node}: ${status} ${JSON.stringify(body)}`);
    return false;
  }

  async read(url: string, node: number, path: string, linearizable: boolean): Promise<boolean> {
    const minZxid = this.lastZxid;
    const headers: Record<string, string> = minZxid > 0n ? { 'zk-min-zxid': String(minZxid) } : {};
    const query = linearizable ? '?consistency=linearizable' : '';
    const call = performance.now();
    const reply = await request('GET', `${url}/v1/znodes${path}${query}`, { headers, timeoutMs: this.workload.timeoutMs });
    const ret = performance.now();
    this.count(reply);
    if (reply.kind !== 'reply' || reply.status === 503) {
      this.workload.stats.failedReads++;
      return false;
    }
    const zxid = zxidOf(reply);
    this.sawZxid(zxid);
    const { status, body } = reply;
    const base = { clientId: this.id, node, path, linearizable, call, return: ret, minZxid, zxid };
    let read: ReadRecord;
    if (status === 200 && typeof body?.stat?.version === 'number' && typeof body.data === 'string') {
      read = { ...base, exists: true, data: body.data, version: body.stat.version, mzxid: BigInt(body.stat.mzxid) };
      this.versions.set(path, body.stat.version);
    } else if (status === 404 && body?.code === 'NONODE') {
      read = { ...base, exists: false };
      this.versions.delete(path);
    } else {
      this.workload.protocolErrors.push(`client ${this.id} read ${path} on node ${node}: ${status} ${JSON.stringify(body)}`);
      return false;
    }
    this.workload.stats.reads++;
    this.workload.reads.push(read);
    if (linearizable) {
      const output: ZnodeOutput = read.exists ? { ok: true, exists: true, data: read.data!, version: read.version! } : { ok: true, exists: false };
      this.workload.history.push({ clientId: this.id, input: { op: 'read', path }, call, return: ret, output, node, zxid, mzxid: read.mzxid ?? 0n });
    }
    return true;
  }

  private count(reply: Reply): void {
    if (reply.kind === 'refused') this.workload.stats.refused++;
    if (reply.kind === 'failed' && reply.timedOut) this.workload.stats.timeouts++;
  }

  private sawZxid(zxid: bigint): void {
    if (zxid > this.lastZxid) this.lastZxid = zxid;
    this.workload.seen(zxid);
  }
}

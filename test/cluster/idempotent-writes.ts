/**
 * Clients of the exactly-once tests: writes that carry a Zk-Request-Id and are retried with the
 * SAME id at another member whenever their outcome is unknown (503, a reset, a timeout; a refused
 * connection too, though nothing was sent then), as a ZooKeeper client would after a
 * CONNECTIONLOSS. A create's body is its request id, so the tree itself says which id made
 * which znode.
 *
 * Bounded: every attempt has a timeout, every id a deadline, a run a count and a duration; stop()
 * waits at most for the ids in flight to finish (each within its deadline).
 */
import { request, type CorralCluster, type Reply } from '../support/corral-cluster.ts';
import { waitFor } from '../support/corral-process.ts';
import { Prng } from '../support/prng.ts';

/** Long enough for a write on loaded shared cores; short enough that a stopped member costs little. */
export const ATTEMPT_TIMEOUT_MS = 2500;
/** An id still unanswered after this long is a failure (elections take 1–2 s; restarts more). */
const ID_DEADLINE_MS = 30_000;
const BACKOFF_MS = 50;

/** What one id's final 2xx answer named. */
export interface Ack {
  readonly id: string;
  readonly path: string;
  readonly attempts: number;
  /** The member whose answer it was. */
  readonly node: number;
  /** The znode's czxid in that answer. */
  readonly zxid: bigint;
}

export interface RetryStats {
  attempts: number;
  /** 503 answers (each must carry Retry-After). */
  unavailable: number;
  /** Resets and timeouts: outcome unknown. */
  failed: number;
  refused: number;
  /** Ids acknowledged only after more than one attempt. */
  retriedIds: number;
}

/** The URL of a sequential create under `parent`: `${parent}/job-0000000007`. */
export function sequentialCreate(parent: string): string {
  return `/v1/znodes${parent}/job-?mode=persistent_sequential`;
}

/**
 * Sends one write with `headers` (Zk-Request-Id among them) until a member answers anything but
 * 503: each retry goes to another member, chosen by `rng`. Returns that answer and the attempts;
 * throws once `deadlineMs` has passed (bounded).
 */
export async function sendRetrying(
  cluster: CorralCluster, method: string, target: string,
  options: { body?: string | object; headers: Record<string, string>; rng: Prng; stats?: RetryStats; first?: number; deadlineMs?: number; problems?: string[] },
): Promise<{ reply: Extract<Reply, { kind: 'reply' }>; attempts: number; node: number }> {
  const deadline = performance.now() + (options.deadlineMs ?? ID_DEADLINE_MS);
  let node = options.first ?? options.rng.pick(cluster.ids);
  let last = '';
  for (let attempts = 1; performance.now() < deadline; attempts++) {
    const reply = await request(method, `${cluster.url(node)}${target}`, { body: options.body, headers: options.headers, timeoutMs: ATTEMPT_TIMEOUT_MS });
    if (options.stats) options.stats.attempts++;
    if (reply.kind === 'reply' && reply.status !== 503) return { reply, attempts, node };
    if (reply.kind === 'reply') {
      if (options.stats) options.stats.unavailable++;
      if (reply.headers['retry-after'] === undefined) options.problems?.push(`member ${node} answered 503 without Retry-After: ${JSON.stringify(reply.body)}`);
    } else if (options.stats) {
      options.stats[reply.kind]++;
    }
    last = `member ${node}: ${JSON.stringify(reply)}`;
    const others = cluster.ids.filter((id) => id !== node);
    node = options.rng.pick(others);
    await new Promise((r) => setTimeout(r, BACKOFF_MS));
  }
  throw new Error(`${method} ${target} (${JSON.stringify(options.headers)}) got no answer but 503 before its deadline; last ${last}`);
}

/** One sequential create with request id `id` (the body is the id too), retried until a 2xx. */
export async function createOnce(
  cluster: CorralCluster, parent: string, id: string,
  options: { rng: Prng; stats?: RetryStats; first?: number; headers?: Record<string, string>; problems?: string[] },
): Promise<Ack> {
  const headers = { ...options.headers, 'zk-request-id': id };
  const { reply, attempts, node } = await sendRetrying(cluster, 'POST', sequentialCreate(parent), { ...options, body: id, headers });
  const path: unknown = reply.body?.path;
  if (reply.status < 200 || reply.status >= 300 || typeof path !== 'string' || !path.startsWith(`${parent}/job-`)) {
    throw new Error(`create of ${id} through member ${node}: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  return { id, path, attempts, node, zxid: BigInt(reply.body.stat?.czxid ?? 0) };
}

export interface CreateLoopOptions {
  readonly cluster: CorralCluster;
  readonly parent: string;
  readonly seed: number;
  /** Concurrent clients, each with one create in flight. */
  readonly clients: number;
  readonly maxIds: number;
  readonly maxDurationMs: number;
}

/**
 * Clients issuing sequential creates, each with a fresh id (`eo-<seed>-<n>`), each retried until
 * acknowledged; they start new ids until stop(), `maxIds` or `maxDurationMs`.
 */
export class CreateLoop {
  /** Every id a client started, in the order started: each must end acknowledged. */
  readonly issued: string[] = [];
  readonly acks = new Map<string, Ack>();
  /** Ids that failed (no 2xx within their deadline, or an unexpected answer), and bad answers. */
  readonly problems: string[] = [];
  readonly stats: RetryStats = { attempts: 0, unavailable: 0, failed: 0, refused: 0, retriedIds: 0 };
  private stopped = false;
  private readonly deadline: number;
  private readonly loops: Promise<void>[];

  constructor(private readonly options: CreateLoopOptions) {
    this.deadline = performance.now() + options.maxDurationMs;
    this.loops = Array.from({ length: options.clients }, (_, i) => this.client(new Prng(options.seed * 31 + i)));
  }

  get running(): boolean {
    return !this.stopped && this.issued.length < this.options.maxIds && performance.now() < this.deadline;
  }

  /** Waits (bounded) until `count` more ids are acknowledged from now on. */
  async waitForAcks(count: number, timeoutMs: number, what = `${count} acknowledged creates`): Promise<void> {
    const target = this.acks.size + count;
    const deadline = performance.now() + timeoutMs;
    while (this.acks.size < target) {
      if (!this.running) throw new Error(`the creates stopped (stop(), ${this.options.maxIds} ids or ${this.options.maxDurationMs} ms) before ${what}`);
      if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (acked ${this.acks.size}, stats ${JSON.stringify(this.stats)})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** No new ids; resolves once every id in flight is answered or past its deadline. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async client(rng: Prng): Promise<void> {
    while (this.running) {
      const id = `eo-${this.options.seed}-${this.issued.length}`;
      this.issued.push(id);
      try {
        const ack = await createOnce(this.options.cluster, this.options.parent, id, { rng, stats: this.stats, problems: this.problems });
        if (ack.attempts > 1) this.stats.retriedIds++;
        this.acks.set(id, ack);
      } catch (error) {
        this.problems.push((error as Error).message);
      }
    }
  }
}

/** A GET retried (bounded) while it answers 503 or not at all; any other status but 200 throws. */
async function mustGet(url: string, headers: Record<string, string>): Promise<any> {
  let last = '';
  return waitFor(async () => {
    const reply = await request('GET', url, { headers, timeoutMs: ATTEMPT_TIMEOUT_MS });
    if (reply.kind === 'reply' && reply.status === 200) return reply.body;
    last = JSON.stringify(reply);
    if (reply.kind === 'reply' && reply.status !== 503) throw new Error(`GET ${url}: ${last}`);
    return undefined;
  }, { timeoutMs: ID_DEADLINE_MS, what: `GET ${url} (last ${last})` });
}

/** `parent`'s children on member `node` (path → data), read once it has applied `minZxid`. */
export async function readChildren(cluster: CorralCluster, node: number, parent: string, minZxid: bigint): Promise<Map<string, string>> {
  const headers = { 'zk-min-zxid': String(minZxid) };
  const base = cluster.url(node);
  const { children } = await mustGet(`${base}/v1/children${parent}`, headers) as { children: string[] };
  const datas = new Map<string, string>();
  for (let i = 0; i < children.length; i += 16) {
    const batch = children.slice(i, i + 16).map((name) => `${parent}/${name}`);
    const bodies = await Promise.all(batch.map((path) => mustGet(`${base}/v1/znodes${path}`, headers)));
    bodies.forEach((body: { data: string }, k) => datas.set(batch[k]!, body.data));
  }
  return datas;
}

/**
 * What breaks exactly-once, given the ids issued, their acknowledgements and the parent's
 * children (path → data, the data being the id that created it): an id never acknowledged, a
 * child count other than one per id, two ids acknowledged with one znode, an acknowledgement
 * naming a znode that does not exist or holds another id, an id in no child or in several.
 */
export function exactlyOnceProblems(issued: readonly string[], acks: ReadonlyMap<string, Ack>, children: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  if (children.size !== issued.length) problems.push(`${children.size} children for ${issued.length} ids`);
  const byPath = new Map<string, string>();
  for (const id of issued) {
    const ack = acks.get(id);
    if (!ack) {
      problems.push(`${id} was never acknowledged`);
      continue;
    }
    const other = byPath.get(ack.path);
    if (other !== undefined) problems.push(`${other} and ${id} were both acknowledged with ${ack.path}`);
    byPath.set(ack.path, id);
    const data = children.get(ack.path);
    if (data === undefined) problems.push(`${id} was acknowledged with ${ack.path} (member ${ack.node}, attempt ${ack.attempts}), which does not exist`);
    else if (data !== id) problems.push(`${id} was acknowledged with ${ack.path}, which holds ${data}`);
  }
  const holders = new Map<string, string[]>();
  for (const [path, data] of children) holders.set(data, [...(holders.get(data) ?? []), path]);
  const known = new Set(issued);
  for (const [data, paths] of holders) {
    if (!known.has(data)) problems.push(`${paths.join(', ')} hold ${JSON.stringify(data)}, which no client issued`);
    else if (paths.length > 1) problems.push(`${data} created ${paths.length} znodes: ${paths.join(', ')} (its answer named ${acks.get(data)?.path ?? 'none'})`);
  }
  return problems;
}

/**
 * One fault-injection run: a cluster, a watch stream per member on /lin (opened before the
 * workload, each first on its own member), the client workload; the test injects faults while it
 * runs; `finish` stops the workload, waits for convergence and runs every check, throwing one
 * report (seed, problems, the members' elections) if anything is wrong.
 *
 * Convergence: every member runs, all name one leader of one epoch, all report the same lastZxid
 * and commitZxid (equal to each other) and /readyz is 200 everywhere. Then a sentinel write marks
 * the end of the history, so every stream and replay is read exactly through it (no quiet-period
 * sleeps).
 */
import { waitFor } from '../support/corral-process.ts';
import { CorralCluster, request, type ClusterOptions, type ClusterView } from '../support/corral-cluster.ts';
import { seedFrom } from '../support/prng.ts';
import { checkFollower, checkHistory, checkReads, checkWritesInHistory, compareReplays, eventsByPath, stateAt, type Authority } from './checks.ts';
import { replayHistory, WatchFollower, type WatchEvent } from './watch-follower.ts';
import { DEFAULT_ROOT, Workload } from './workload.ts';

const REQUEST_TIMEOUT_MS = 3000;
/**
 * How long a test waits for the workload to make progress (so many more writes acknowledged):
 * a liveness bound, generous because the cores are shared and a starved process misses
 * heartbeats (each spurious election costs a second or two of 503s).
 */
export const PROGRESS_TIMEOUT_MS = 45_000;
/** A workload stops by itself after this long (tests stop it much sooner; bounded by their timeouts). */
const MAX_RUN_MS = 150_000;
const CONVERGE_TIMEOUT_MS = 20_000;
const STREAM_TIMEOUT_MS = 10_000;

export interface Run {
  readonly cluster: CorralCluster;
  readonly workload: Workload;
  /** One per member, opened on it before the workload; a test may add more. */
  readonly followers: WatchFollower[];
  readonly seed: number;
  /** The parent of this run's keys (its own, on a shared cluster). */
  readonly root: string;
  /** Zxid of the root's creation: the streams start after it. */
  readonly startZxid: bigint;
  /** What happened when (ms since the run started), for the report. */
  readonly timeline: string[];
  /** Notes a step of the run in its timeline. */
  note(what: string): void;
  readonly options: RunOptions;
}

export interface RunOptions {
  readonly clients?: number;
  readonly keys?: number;
  readonly maxDurationMs?: number;
  readonly requestTimeoutMs?: number;
  /**
   * Accept that no member kept the run's whole change history (each caught up from a checkpoint
   * at some point): the checks against the history are then skipped, not failed.
   */
  readonly partialHistory?: boolean;
}

/**
 * A write that must succeed, retried on 503 and errors against any member (bounded); returns its
 * answer. A create that finds its node after an attempt of unknown outcome returns the node.
 */
export async function mustWrite(cluster: CorralCluster, method: string, path: string, body = '', timeoutMs = 15_000): Promise<any> {
  let last = '';
  let uncertain = false;
  return waitFor(async () => {
    for (const id of cluster.liveIds) {
      const url = `${cluster.url(id)}${path}`;
      const reply = await request(method, url, { body, timeoutMs: REQUEST_TIMEOUT_MS });
      if (reply.kind === 'reply' && reply.status < 300) return reply.body ?? true;
      last = JSON.stringify(reply);
      if (uncertain && method === 'POST' && reply.kind === 'reply' && reply.body?.code === 'NODEEXISTS') return mustRead(url, {});
      if (reply.kind === 'reply' && reply.status !== 503) throw new Error(`${method} ${path}: ${last}`);
      uncertain = true;
    }
    return undefined;
  }, { timeoutMs, what: `${method} ${path} to succeed (last ${last})` });
}

let runs = 0;
/** Runs started and not finished: a test that failed midway leaves one, stopped by stopRuns(). */
const unfinished = new Set<Run>();

/** Stops the workload and closes the streams of every run not finished (call in afterEach). */
export async function stopRuns(): Promise<void> {
  const left = [...unfinished];
  unfinished.clear();
  await Promise.all(left.map(async (run) => {
    run.note('abandoned (the test failed)');
    console.log(`an unfinished run: ${summary(run)}`);
    await run.workload.stop();
    await Promise.all(run.followers.map((f) => f.close()));
  }));
}

/**
 * One cluster for the tests of a file (starting processes is the slow part): started on first
 * use; after a test (`release`, in afterEach) its runs are stopped, and before the next one
 * every fault is undone (restore), or, if that fails, the cluster is replaced by a fresh one.
 * Each run works under its own root, so runs on one cluster do not see each other's keys or
 * events.
 */
export function sharedCluster(options: ClusterOptions = {}) {
  let current: CorralCluster | undefined;
  let dirty = false;
  return {
    async get(): Promise<CorralCluster> {
      if (current && dirty) {
        dirty = false;
        await current.restore().catch(async () => {
          await current?.close();
          current = undefined;
        });
      }
      current ??= await CorralCluster.start(options);
      return current;
    },
    async release(): Promise<void> {
      await stopRuns();
      dirty = true;
    },
    async close(): Promise<void> {
      await stopRuns();
      await current?.close();
      current = undefined;
    },
  };
}

export async function startRun(cluster: CorralCluster, options: RunOptions = {}): Promise<Run> {
  const seed = seedFrom('CLUSTER_SEED');
  const root = `${DEFAULT_ROOT}-${++runs}`;
  const created = await mustWrite(cluster, 'POST', `/v1/znodes${root}`);
  const startZxid = BigInt(created.stat.czxid);
  const followers = cluster.ids.map((id) => new WatchFollower(cluster.urls, root, startZxid, id));
  await Promise.all(followers.map((f) => waitFor(() => f.connections.length > 0, { timeoutMs: STREAM_TIMEOUT_MS, what: 'watch streams to open' })));
  const workload = new Workload({ urls: cluster.urls, root, seed, clients: options.clients, keys: options.keys, requestTimeoutMs: options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS, maxDurationMs: options.maxDurationMs ?? MAX_RUN_MS });
  const started = performance.now();
  const timeline: string[] = [];
  const note = (what: string) => {
    timeline.push(`${(performance.now() - started).toFixed(0).padStart(6)} ms  ${what} (acked ${workload.stats.acked}, unknown ${workload.stats.unknown})`);
  };
  note(`workload started, seed ${seed}`);
  const run: Run = { cluster, workload, followers, seed, root, startZxid, timeline, note, options };
  unfinished.add(run);
  return run;
}

/** Waits until every member is up, agrees on the leader, and has the same log, all of it committed. */
export async function converge(cluster: CorralCluster, timeoutMs = CONVERGE_TIMEOUT_MS): Promise<{ leader: number; zxid: bigint }> {
  let last: (ClusterView | undefined)[] = [];
  try {
    return await waitFor(async () => {
      if (cluster.liveIds.length !== cluster.ids.length) throw new Error(`members down: live ${cluster.liveIds.join(',')}`);
      last = await Promise.all(cluster.ids.map((id) => cluster.view(id)));
      const views = last;
      if (views.some((v) => v === undefined)) return undefined;
      const [first] = views as ClusterView[];
      const same = (views as ClusterView[]).every((v) => v.leader === first!.leader && v.epoch === first!.epoch && v.lastZxid === first!.lastZxid && v.commitZxid === first!.commitZxid);
      if (!same || first!.leader === null || first!.lastZxid !== first!.commitZxid) return undefined;
      const ready = await Promise.all(cluster.ids.map((id) => request('GET', `${cluster.url(id)}/readyz`, { timeoutMs: 1000 })));
      if (!ready.every((r) => r.kind === 'reply' && r.status === 200)) return undefined;
      return { leader: first!.leader, zxid: BigInt(first!.commitZxid) };
    }, { timeoutMs, what: 'the members to converge' });
  } catch (error) {
    throw new Error(`${(error as Error).message}; last views ${JSON.stringify(last)}`);
  }
}

interface ZnodeState {
  readonly data: string;
  readonly version: number;
  readonly czxid: string;
  readonly mzxid: string;
}

/** A GET that must answer 200; a 503 (a wait that ran out on a starved member) or no answer is retried, bounded. */
async function mustRead(url: string, headers: Record<string, string>): Promise<any> {
  let last = '';
  return waitFor(async () => {
    const reply = await request('GET', url, { headers, timeoutMs: REQUEST_TIMEOUT_MS });
    if (reply.kind === 'reply' && reply.status === 200) return reply.body;
    last = JSON.stringify(reply);
    if (reply.kind === 'reply' && reply.status !== 503) throw new Error(`GET ${url}: ${last}`);
    return undefined;
  }, { timeoutMs: CONVERGE_TIMEOUT_MS, what: `GET ${url} (last ${last})` });
}

/** The root's children and their state on member `id`, read with Zk-Min-Zxid. */
async function readState(cluster: CorralCluster, id: number, root: string, minZxid: bigint): Promise<Map<string, ZnodeState>> {
  const headers = { 'zk-min-zxid': String(minZxid) };
  const kids = await mustRead(`${cluster.url(id)}/v1/children${root}`, headers);
  const state = new Map<string, ZnodeState>();
  for (const name of kids.children as string[]) {
    const { stat, data } = await mustRead(`${cluster.url(id)}/v1/znodes${root}/${name}`, headers);
    state.set(`${root}/${name}`, { data, version: stat.version, czxid: stat.czxid, mzxid: stat.mzxid });
  }
  return state;
}

/** Every member holds the same keys, each as the change history says (when it is known). */
function checkStates(states: readonly Map<string, ZnodeState>[], byPath: Map<string, WatchEvent[]> | undefined, workload: Workload, zxid: bigint): string[] {
  const problems: string[] = [];
  const text = states.map((s) => JSON.stringify([...s]));
  text.forEach((s, i) => {
    if (s !== text[0]) problems.push(`node ${i + 1}'s ${workload.root} differs from node 1's:\n${s}\nvs\n${text[0]}`);
  });
  for (let k = 0; byPath !== undefined && k < workload.keyCount; k++) {
    const key = workload.keyPath(k);
    const expected = stateAt(byPath.get(key), zxid);
    const shown = states[0]!.get(key);
    const matches = expected.exists ? shown?.version === expected.version && shown.mzxid === String(expected.mzxid) : shown === undefined;
    if (!matches) problems.push(`${key} is ${JSON.stringify(shown) ?? 'absent'} but the history gives ${expected.exists ? `v${expected.version} mzxid ${expected.mzxid}` : 'absent'}`);
  }
  return problems;
}

export interface RunReport {
  readonly leader: number;
  readonly zxid: bigint;
  readonly operations: number;
  /** Every `event: reset` the streams and replays were told, described. */
  readonly resets: readonly string[];
}

/** The run's seed, counts, streams, timeline and elections: printed with any failure. */
function summary(run: Run): string {
  return `seed ${run.seed} (CLUSTER_SEED=${run.seed}), stats ${JSON.stringify(run.workload.stats)}, ` +
    `streams ${run.followers.map((f) => f.connections.join('→')).join(' | ')}\ntimeline:\n${run.timeline.join('\n')}\n` +
    `elections:\n${run.cluster.roleLog()}`;
}

/** Stops the workload, converges, and checks everything; throws one report listing every problem. */
export async function finishRun(run: Run): Promise<RunReport> {
  unfinished.delete(run);
  try {
    const report = await checkRun(run);
    if (process.env.CLUSTER_VERBOSE) console.log(summary(run));
    return report;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${summary(run)}`, { cause: error });
  } finally {
    await run.workload.stop();
    await Promise.all(run.followers.map((f) => f.close()));
  }
}

interface Histories {
  readonly leader: number;
  /** Converged commit point, the sentinel included. */
  readonly zxid: bigint;
  readonly authority: Authority;
  readonly resets: string[];
  readonly problems: string[];
}

/**
 * Stops the workload, converges, marks the end with a sentinel write, and reads every history:
 * each stream through the sentinel, and each member's replay from zxid 0 (the authority).
 */
async function collectHistories(run: Run): Promise<Histories> {
  const { cluster, workload, followers, note, root } = run;
  await workload.stop();
  note('workload stopped');
  const { leader } = await converge(cluster);
  const sentinel = await mustWrite(cluster, 'POST', `/v1/znodes${root}/end`);
  const end = BigInt(sentinel.stat.czxid);
  const { zxid } = await converge(cluster);
  note(`converged at ${zxid}`);
  await Promise.all(followers.map((f) => f.until(end, STREAM_TIMEOUT_MS)));
  const replays = await Promise.all(cluster.ids.map((id) => replayHistory(cluster.url(id), id, root, 0n, end, STREAM_TIMEOUT_MS)));
  const { authority, problems } = compareReplays(replays, run.startZxid, end);
  const resets = replays.flatMap((r, i) => r.notices.filter((n) => n.event === 'reset').map((n) => `replay on node ${i + 1}: reset ${n.data}`));
  followers.forEach((f, i) => {
    const outcome = checkFollower(f, authority, end, `stream #${i} opened on node ${f.first}`);
    problems.push(...outcome.problems);
    resets.push(...outcome.resets);
  });
  return { leader, zxid, authority, resets, problems };
}

async function checkRun(run: Run): Promise<RunReport> {
  const { cluster, workload, note, root } = run;
  const { leader, zxid, authority, resets, problems } = await collectHistories(run);
  problems.push(...workload.protocolErrors.map((e) => `protocol error: ${e}`));
  if (!authority.complete && !run.options.partialHistory) problems.push(`no member kept the whole history of the run (from ${authority.floor} only)`);
  // The same state on every member, and (with the whole history) the state the history gives.
  const byPath = eventsByPath(authority.events);
  const minZxid = workload.maxZxid > zxid ? workload.maxZxid : zxid;
  const states = await Promise.all(cluster.ids.map((id) => readState(cluster, id, root, minZxid)));
  problems.push(...checkStates(states, authority.complete ? byPath : undefined, workload, zxid));
  for (const id of cluster.ids) await workload.finalReads(cluster.url(id), id);
  if (authority.complete) {
    problems.push(...checkWritesInHistory(workload.history, byPath, root));
    problems.push(...checkReads(workload.reads, workload.history, byPath));
  } else {
    note(`history kept only after ${authority.floor}: reads and writes not checked against it`);
  }
  note('states and histories compared');
  problems.push(...checkHistory(workload.history));
  note(`checked ${workload.history.length} operations, ${workload.reads.length} reads`);
  if (problems.length > 0) throw new Error(`${problems.length} problems\n${problems.slice(0, 30).join('\n')}`);
  return { leader, zxid, operations: workload.history.length, resets };
}

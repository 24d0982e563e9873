/**
 * Exactly-once writes (Zk-Request-Id) on a real 3-member cluster, judged only through the HTTP
 * contract: a write answered 503 or not at all has an unknown outcome, and its retry with the
 * same id, through any member, must answer what the first attempt did instead of applying again.
 *
 * - Sequential creates retried through other members while the leader is stopped (SIGSTOP) and a
 *   leader is killed (SIGKILL) and restarted: one znode per id, named by the id's answer.
 * - The same after every member restarted from a checkpoint (the members checkpoint every
 *   CHECKPOINT_EVERY entries and truncate their logs behind it, so the ids are only in the
 *   checkpoints): a retry of an acknowledged id answers its first znode and creates nothing.
 * - A follower that loses its leader mid-forward answers 503 with Retry-After within
 *   FORWARD_ANSWER_BOUND_MS, never hangs.
 * - Ids are per client: two sessions may use one id; one client reusing an id for another
 *   operation is refused (400 BADARGUMENTS).
 *
 * A create's body is its request id, so the tree says which id made which znode. Seeds are
 * printed (CLUSTER_SEED replays the clients' choices; real processes' timing is not replayable).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { request, type CorralCluster } from '../support/corral-cluster.ts';
import { waitFor } from '../support/corral-process.ts';
import { Prng, seedFrom } from '../support/prng.ts';
import { createOnce, CreateLoop, exactlyOnceProblems, readChildren, sendRetrying, sequentialCreate, type Ack } from './idempotent-writes.ts';
import { converge, mustWrite, sharedCluster } from './scenario.ts';

const CHECKPOINT_EVERY = 20;
/**
 * A liveness bound, not a benchmark: elections take 10–20 ticks of 50 ms; on loaded shared cores
 * one took over 10 s once, and timing elections is failover.e2e.test.ts's job, not this file's.
 */
const ELECTION_BOUND_MS = 20_000;
const PROGRESS_TIMEOUT_MS = 30_000;
/** Acknowledged creates between two steps of the fault schedule. */
const STEP_ACKS = 12;
const KILL_CYCLES = 3;
/**
 * A follower's forward to the leader is given up after 10 s today (and once another leader is
 * elected, ~1–2 s with this tick); its 503 must come by then, plus slack for loaded cores.
 */
const FORWARD_ANSWER_BOUND_MS = 12_000;
const TEST_TIMEOUT_MS = 120_000;
const HOOK_TIMEOUT_MS = 90_000;

const shared = sharedCluster({ extraArgs: ['--checkpoint-every-entries', String(CHECKPOINT_EVERY)] });
/** Create loops a failed test left running; stopped after it. */
const loops = new Set<CreateLoop>();
afterEach(async () => {
  await Promise.all([...loops].map((l) => l.stop()));
  loops.clear();
  await shared.release();
}, HOOK_TIMEOUT_MS);
afterAll(() => shared.close(), HOOK_TIMEOUT_MS);

/** A timeline of a test's steps, for its failure report. */
function timeline(seed: number): { note: (what: string) => void; text: () => string } {
  const started = performance.now();
  const lines = [`seed ${seed} (CLUSTER_SEED=${seed} replays the clients' choices)`];
  return {
    note: (what) => lines.push(`${(performance.now() - started).toFixed(0).padStart(6)} ms  ${what}`),
    text: () => lines.join('\n'),
  };
}

/** The exactly-once problems of `parent` as every member sees it once the cluster converged. */
async function problemsOnEveryMember(c: CorralCluster, parent: string, issued: readonly string[], acks: ReadonlyMap<string, Ack>): Promise<string[]> {
  const { zxid } = await converge(c);
  const problems: string[] = [];
  for (const id of c.ids) {
    const children = await readChildren(c, id, parent, zxid);
    problems.push(...exactlyOnceProblems(issued, acks, children).map((p) => `member ${id}: ${p}`));
  }
  return problems;
}

/** How many creates member `id` answered. */
function answeredBy(loop: CreateLoop, id: number): number {
  return [...loop.acks.values()].filter((a) => a.node === id).length;
}

/** The zxids member `id` logged checkpoints at, its earlier processes included. */
function checkpointZxids(c: CorralCluster, id: number): bigint[] {
  return c.output(id).split('\n').filter((l) => l.includes('"event":"checkpoint"')).map((l) => BigInt(JSON.parse(l).zxid));
}

/** The checkpoint zxid member `id` recovered from at its last start (0 when none). */
function recoveredFrom(c: CorralCluster, id: number): bigint {
  const lines = c.output(id).split('\n').filter((l) => l.includes('"event":"recovered"'));
  return lines.length === 0 ? 0n : BigInt(JSON.parse(lines.at(-1)!).checkpointZxid ?? 0);
}

interface Session {
  readonly id: string;
  readonly token: string;
}

async function openSession(c: CorralCluster, rng: Prng): Promise<Session> {
  const { reply } = await sendRetrying(c, 'POST', '/v1/sessions', { body: { timeoutMs: 10_000 }, headers: {}, rng });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return { id: String(reply.body.id), token: String(reply.body.token) };
}

function actingFor(s: Session): Record<string, string> {
  return { 'zk-session-id': s.id, 'zk-session-token': s.token };
}

/** Best effort: the sessions expire by themselves anyway. */
async function closeSessions(c: CorralCluster, sessions: readonly Session[]): Promise<void> {
  const url = c.url(c.liveIds[0] ?? c.ids[0]!);
  await Promise.all(sessions.map((s) => request('DELETE', `${url}/v1/sessions/${s.id}`, { headers: actingFor(s), timeoutMs: 3000 })));
}

/**
 * The fault schedule of the first test, each step once the clients made progress: SIGSTOP the
 * leader until another one leads (longer than an election timeout) and creates go on without it;
 * SIGCONT it and wait until it follows; then KILL_CYCLES times SIGKILL the leader, restart it,
 * and wait for a create it answers.
 */
async function stopThenKillLeaders(c: CorralCluster, loop: CreateLoop, note: (what: string) => void): Promise<void> {
  const step = async (what: string) => {
    await loop.waitForAcks(STEP_ACKS, PROGRESS_TIMEOUT_MS, `${STEP_ACKS} creates ${what}`);
    note(`${loop.acks.size} acked ${what}`);
  };
  await step('before any fault');
  const stopped = await c.leader();
  c.pause(stopped);
  note(`stopped leader ${stopped}`);
  const next = await c.leader({ among: c.ids.filter((id) => id !== stopped), timeoutMs: ELECTION_BOUND_MS });
  note(`${next} leads`);
  await step(`while ${stopped} is stopped`);
  c.resume(stopped);
  note(`resumed ${stopped}`);
  await follows(c, stopped);
  await step(`after ${stopped} resumed`);
  // Each kill catches other creates in flight.
  for (let cycle = 0; cycle < KILL_CYCLES; cycle++) {
    const killed = await c.leader();
    await c.kill(killed);
    const answeredBefore = answeredBy(loop, killed);
    note(`killed leader ${killed}`);
    const leader = await c.leader({ among: c.ids.filter((id) => id !== killed), timeoutMs: ELECTION_BOUND_MS });
    note(`${leader} leads`);
    await step(`while ${killed} is down`);
    await c.restart(killed);
    note(`restarted ${killed}`);
    await waitFor(() => answeredBy(loop, killed) > answeredBefore, { timeoutMs: PROGRESS_TIMEOUT_MS, what: `a create answered by the restarted member ${killed}` });
    await step(`after ${killed} restarted`);
  }
}

/** Waits (bounded) until member `id` follows a leader; fails at once if its process exited by itself. */
async function follows(c: CorralCluster, id: number): Promise<void> {
  const outcome = await waitFor(async () => {
    if (!c.isRunning(id)) return 'exited';
    const view = await c.view(id);
    return view?.role === 'follower' && view.leader !== null && 'following';
  }, { timeoutMs: ELECTION_BOUND_MS, what: `member ${id} to follow a leader` });
  if (outcome === 'exited') throw new Error(`member ${id} exited by itself with ${c.exitOf(id)} (a crash, not a fault of the test)`);
}

describe('exactly-once writes (Zk-Request-Id) on a 3-member cluster', () => {
  it('creates one znode per request id, named by its answer, while the leader is stopped, then killed and restarted', async () => {
    const c = await shared.get();
    const seed = seedFrom('CLUSTER_SEED');
    const log = timeline(seed);
    const parent = '/eo-faults';
    await mustWrite(c, 'POST', `/v1/znodes${parent}`);
    const loop = new CreateLoop({ cluster: c, parent, seed, clients: 6, maxIds: 3000, maxDurationMs: 70_000 });
    loops.add(loop);
    try {
      await stopThenKillLeaders(c, loop, log.note);
    } catch (error) {
      const down = c.ids.filter((id) => !c.isRunning(id));
      throw new Error(`${(error as Error).message}\nmembers down: ${down.join(',') || 'none'}\n${log.text()}\n${c.roleLog()}\n${c.logs(20)}`);
    } finally {
      await loop.stop();
      log.note(`stopped the clients: ${loop.issued.length} ids, stats ${JSON.stringify(loop.stats)}`);
    }
    console.log(log.text());
    const problems = [...loop.problems, ...await problemsOnEveryMember(c, parent, loop.issued, loop.acks)];
    expect(problems, `${log.text()}\n${c.roleLog()}`).toEqual([]);
    // Else the faults hit no create in flight, and nothing was retried.
    expect(loop.stats.retriedIds, log.text()).toBeGreaterThan(0);
  }, TEST_TIMEOUT_MS);

  it('answers a retry of an acknowledged create with its first znode after every member restarted from a checkpoint', async () => {
    const c = await shared.get();
    const seed = seedFrom('CLUSTER_SEED');
    const log = timeline(seed);
    const rng = new Prng(seed);
    const parent = '/eo-checkpointed';
    await mustWrite(c, 'POST', `/v1/znodes${parent}`);
    const acks: Ack[] = [];
    for (let i = 0; i < 6; i++) acks.push(await createOnce(c, parent, `cp-${seed}-${i}`, { rng }));
    const covered = acks.reduce((max, a) => (a.zxid > max ? a.zxid : max), 0n);
    // Writes until every member has checkpointed past the acknowledged creates (so its log no
    // longer holds them); bounded by a few intervals.
    const filler = `${parent}-filler`;
    await mustWrite(c, 'POST', `/v1/znodes${filler}`);
    const checkpointed = () => c.ids.every((id) => checkpointZxids(c, id).some((z) => z >= covered));
    for (let i = 0; !checkpointed(); i++) {
      expect(i, `every member checkpointed past ${covered} within ${4 * CHECKPOINT_EVERY} writes`).toBeLessThan(4 * CHECKPOINT_EVERY);
      await mustWrite(c, 'PUT', `/v1/znodes${filler}`, `fill-${i}`);
    }
    log.note(`checkpoints past ${covered} on every member`);
    for (const id of c.ids) {
      await c.kill(id);
      await c.restart(id);
      await c.leader({ among: c.ids, timeoutMs: ELECTION_BOUND_MS });
      log.note(`restarted ${id} from the checkpoint at ${recoveredFrom(c, id)}`);
      expect(recoveredFrom(c, id), `member ${id} recovered from a checkpoint covering the creates`).toBeGreaterThanOrEqual(covered);
    }
    const wrong: string[] = [];
    for (const ack of acks) {
      for (const id of c.ids) {
        try {
          const retry = await createOnce(c, parent, ack.id, { rng, first: id });
          if (retry.path !== ack.path) wrong.push(`${ack.id} retried through member ${id} (answered by ${retry.node}): ${retry.path}, first answered ${ack.path}`);
        } catch (error) {
          wrong.push(`${ack.id} retried through member ${id}: ${(error as Error).message}`);
        }
      }
    }
    expect(wrong, log.text()).toEqual([]);
    const ids = acks.map((a) => a.id);
    expect(await problemsOnEveryMember(c, parent, ids, new Map(acks.map((a) => [a.id, a]))), log.text()).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it(`answers 503 with Retry-After within ${FORWARD_ANSWER_BOUND_MS} ms when a follower loses its leader mid-forward`, async () => {
    const c = await shared.get();
    const seed = seedFrom('CLUSTER_SEED');
    const rng = new Prng(seed);
    const parent = '/eo-lost-leader';
    await mustWrite(c, 'POST', `/v1/znodes${parent}`);
    const leader = await c.leader();
    const follower = c.ids.find((id) => id !== leader)!;
    const requestId = `lost-${seed}`;
    c.pause(leader);
    const started = performance.now();
    // Waits longer than the bound, so a hang is measured rather than cut short.
    const reply = await request('POST', `${c.url(follower)}${sequentialCreate(parent)}`, {
      body: requestId, headers: { 'zk-request-id': requestId }, timeoutMs: 2 * FORWARD_ANSWER_BOUND_MS,
    });
    const elapsedMs = performance.now() - started;
    expect(reply.kind === 'reply' && reply.status, `after ${elapsedMs.toFixed(0)} ms: ${JSON.stringify(reply)}`).toBe(503);
    expect(reply.kind === 'reply' && reply.headers['retry-after'], JSON.stringify(reply)).toMatch(/^\d+$/);
    expect(elapsedMs).toBeLessThan(FORWARD_ANSWER_BOUND_MS);
    // Its outcome is unknown: the retry with the same id settles it, once.
    const ack = await createOnce(c, parent, requestId, { rng, first: follower });
    c.resume(leader);
    expect(await problemsOnEveryMember(c, parent, [requestId], new Map([[requestId, ack]]))).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('applies one request id from two sessions as two writes, each answered with its own znode', async () => {
    const c = await shared.get();
    const seed = seedFrom('CLUSTER_SEED');
    const rng = new Prng(seed);
    const parent = '/eo-two-clients';
    await mustWrite(c, 'POST', `/v1/znodes${parent}`);
    const sessions = [await openSession(c, rng), await openSession(c, rng)];
    try {
      const requestId = `shared-${seed}`;
      const answers = [];
      for (const [k, s] of sessions.entries()) {
        const path = `${parent}/by-session-${k}`;
        const { reply } = await sendRetrying(c, 'POST', `/v1/znodes${path}`, { body: `session ${k}`, headers: { ...actingFor(s), 'zk-request-id': requestId }, rng });
        answers.push({ status: reply.status, path: reply.body?.path, zxid: BigInt(reply.body?.stat?.czxid ?? 0) });
      }
      expect(answers.map((a) => [a.status, a.path])).toEqual([[201, `${parent}/by-session-0`], [201, `${parent}/by-session-1`]]);
      const children = await readChildren(c, c.liveIds[0]!, parent, answers[1]!.zxid);
      expect(Object.fromEntries(children)).toEqual({ [`${parent}/by-session-0`]: 'session 0', [`${parent}/by-session-1`]: 'session 1' });
    } finally {
      await closeSessions(c, sessions);
    }
  }, TEST_TIMEOUT_MS);

  it('refuses with BADARGUMENTS a request id its client reuses for another operation', async () => {
    const c = await shared.get();
    const seed = seedFrom('CLUSTER_SEED');
    const rng = new Prng(seed);
    const path = '/eo-reused-id';
    const session = await openSession(c, rng);
    try {
      const headers = { ...actingFor(session), 'zk-request-id': `reused-${seed}` };
      const created = await sendRetrying(c, 'POST', `/v1/znodes${path}`, { body: 'created', headers, rng });
      expect(created.reply.status, JSON.stringify(created.reply.body)).toBe(201);
      const set = await sendRetrying(c, 'PUT', `/v1/znodes${path}`, { body: 'set with the create\'s id', headers, rng });
      expect([set.reply.status, set.reply.body?.code], JSON.stringify(set.reply.body)).toEqual([400, 'BADARGUMENTS']);
      const read = await request('GET', `${c.url(set.node)}/v1/znodes${path}`, { headers: { 'zk-min-zxid': String(created.reply.body.stat.czxid) }, timeoutMs: 3000 });
      expect(read.kind === 'reply' && [read.body.data, read.body.stat.version], JSON.stringify(read)).toEqual(['created', 0]);
    } finally {
      await closeSessions(c, [session]);
    }
  }, TEST_TIMEOUT_MS);
});

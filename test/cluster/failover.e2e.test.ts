/**
 * A real 3-node cluster under a client workload, with crashes (SIGKILL) and stalls (SIGSTOP) of
 * the leader and of a follower, and a rolling restart of every member (each watch stream loses
 * its member and resumes with Last-Event-ID on whichever member accepts). After each run the cluster must converge and pass every check of
 * scenario.ts: the history is linearizable, every read shows a prefix of the log, every
 * acknowledged write is on every member, all members hold the same log, and every watch stream
 * delivered each event once, in order. The seed is printed on failure (CLUSTER_SEED replays the
 * workload's choices; the timing of real processes is not replayable).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { request, type CorralCluster } from '../support/corral-cluster.ts';
import { waitFor } from '../support/corral-process.ts';
import { finishRun, PROGRESS_TIMEOUT_MS, sharedCluster, startRun } from './scenario.ts';

/** A liveness bound, not a benchmark: elections take 10–20 ticks of 50 ms, on loaded shared cores. */
const ELECTION_BOUND_MS = 10_000;
const TEST_TIMEOUT_MS = 150_000;
const HOOK_TIMEOUT_MS = 120_000;

const shared = sharedCluster();
afterEach(() => shared.release(), HOOK_TIMEOUT_MS);
afterAll(() => shared.close(), HOOK_TIMEOUT_MS);

/** Measures how long the members in `among` take to agree on a leader. */
async function timeElection(c: CorralCluster, among: number[]): Promise<{ leader: number; ms: number }> {
  const started = performance.now();
  const leader = await c.leader({ among, timeoutMs: ELECTION_BOUND_MS * 2 });
  return { leader, ms: performance.now() - started };
}

describe('a 3-node cluster', () => {
  it('elects one leader, and a write through a follower is readable on every member', async () => {
    const c = await shared.get();
    const leader = await c.leader();
    const views = await Promise.all(c.ids.map((id) => c.view(id)));
    expect(views.map((v) => v?.role).sort()).toEqual(['follower', 'follower', 'leader']);
    expect(new Set(views.map((v) => v?.leader))).toEqual(new Set([leader]));

    const follower = c.ids.find((id) => id !== leader)!;
    const created = await request('POST', `${c.url(follower)}/v1/znodes/through-follower`, { body: 'hello', timeoutMs: 5000 });
    expect(created.kind === 'reply' && created.status, JSON.stringify(created)).toBe(201);
    const zxid = BigInt((created as { body: any }).body.stat.czxid);
    for (const id of c.ids) {
      for (const query of ['', '?consistency=linearizable']) {
        const read = await request('GET', `${c.url(id)}/v1/znodes/through-follower${query}`, { headers: { 'zk-min-zxid': String(zxid) }, timeoutMs: 5000 });
        expect(read.kind === 'reply' && read.status, `node ${id}${query}: ${JSON.stringify(read)}`).toBe(200);
        if (read.kind !== 'reply') continue;
        expect(read.body.data).toBe('hello');
        expect(BigInt(read.headers['zk-zxid'] as string)).toBeGreaterThanOrEqual(zxid);
      }
    }

    const run = await startRun(c);
    await run.workload.waitForAcks(40, PROGRESS_TIMEOUT_MS);
    const report = await finishRun(run);
    expect(report.operations).toBeGreaterThan(40);
  }, TEST_TIMEOUT_MS);

  it('elects a new leader when the leader is killed under load, and the restarted member catches up', async () => {
    const c = await shared.get();
    const run = await startRun(c);
    await run.workload.waitForAcks(25, PROGRESS_TIMEOUT_MS);
    const old = await c.leader();
    await c.kill(old);
    run.note(`killed leader ${old}`);
    const { leader, ms } = await timeElection(c, c.ids.filter((id) => id !== old));
    run.note(`${leader} leads after ${ms.toFixed(0)} ms`);
    expect(leader).not.toBe(old);
    expect(ms).toBeLessThan(ELECTION_BOUND_MS);
    await run.workload.waitForAcks(30, PROGRESS_TIMEOUT_MS, 'writes under the new leader');
    await c.restart(old);
    run.note(`restarted ${old}`);
    await run.workload.waitForAcks(20, PROGRESS_TIMEOUT_MS, 'writes after the restart');
    await finishRun(run);
  }, TEST_TIMEOUT_MS);

  it('keeps serving when a follower is killed under load, and the restarted follower catches up', async () => {
    const c = await shared.get();
    const run = await startRun(c);
    await run.workload.waitForAcks(25, PROGRESS_TIMEOUT_MS);
    const leader = await c.leader();
    const follower = c.ids.find((id) => id !== leader)!;
    await c.kill(follower);
    await run.workload.waitForAcks(30, PROGRESS_TIMEOUT_MS, 'writes with a follower down');
    await c.restart(follower);
    await run.workload.waitForAcks(20, PROGRESS_TIMEOUT_MS, 'writes after the restart');
    await finishRun(run);
  }, TEST_TIMEOUT_MS);

  it('replaces a leader stopped (SIGSTOP) past the election timeout, which steps down when resumed', async () => {
    const c = await shared.get();
    const run = await startRun(c);
    await run.workload.waitForAcks(25, PROGRESS_TIMEOUT_MS);
    const old = await c.leader();
    c.pause(old);
    const others = c.ids.filter((id) => id !== old);
    const { leader, ms } = await timeElection(c, others);
    expect(ms).toBeLessThan(ELECTION_BOUND_MS);
    await run.workload.waitForAcks(30, PROGRESS_TIMEOUT_MS, 'writes while the old leader is stopped');
    c.resume(old);
    await waitFor(async () => {
      const view = await c.view(old);
      return view?.role === 'follower' && view.leader === leader;
    }, { timeoutMs: ELECTION_BOUND_MS, what: `member ${old} to follow ${leader} once resumed` });
    await run.workload.waitForAcks(20, PROGRESS_TIMEOUT_MS, 'writes after the resume');
    await finishRun(run);
  }, TEST_TIMEOUT_MS);

  it('keeps every watch stream whole across a rolling restart of every member (each event once, in order)', async () => {
    const c = await shared.get();
    const run = await startRun(c, { clients: 6 });
    await run.workload.waitForAcks(20, PROGRESS_TIMEOUT_MS);
    for (const id of c.ids) {
      await c.kill(id);
      run.note(`killed ${id}`);
      await run.workload.waitForAcks(10, PROGRESS_TIMEOUT_MS, `writes with member ${id} down`);
      await c.restart(id);
      run.note(`restarted ${id}`);
      await run.workload.waitForAcks(10, PROGRESS_TIMEOUT_MS, `writes after member ${id} restarted`);
    }
    const report = await finishRun(run);
    run.followers.forEach((f, i) => {
      // Each stream lost its first member at least once and went on elsewhere.
      expect(f.connections.length, `stream opened on node ${i + 1}: ${f.connections.join('→')}`).toBeGreaterThanOrEqual(2);
    });
    expect(report.resets, 'no history was compacted in this run').toEqual([]);
  }, TEST_TIMEOUT_MS);
});

/**
 * Session-less watch streams on a member that catches up from the leader's checkpoint instead of
 * the log: the members checkpoint (and compact their logs) every 40 entries, so a follower that
 * was down for 60 writes or more can only be sent a checkpoint, and the changes it skipped are unknown
 * to its history. To make "a stream is open there before the install" certain, the follower is
 * restarted cut off from its peers ('drop' on its links), the stream is opened, then the links
 * heal and the install happens.
 *
 * - A stream from before the gap is told `event: reset` and goes on, in order, after it.
 * - A stream resumed with a Last-Event-ID PAST the checkpoint (the client got those events from
 *   another member) never goes back (found by this suite: the install used to rewind it to the
 *   checkpoint's zxid and re-send events the client had).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { request, type CorralCluster } from '../support/corral-cluster.ts';
import { waitFor } from '../support/corral-process.ts';
import { lastReset } from './checks.ts';
import { finishRun, mustWrite, PROGRESS_TIMEOUT_MS, sharedCluster, startRun } from './scenario.ts';
import { WatchFollower } from './watch-follower.ts';

const TEST_TIMEOUT_MS = 150_000;
const HOOK_TIMEOUT_MS = 120_000;
const CHECKPOINT_EVERY = 40;
const STREAM_WAIT_MS = 15_000;

const shared = sharedCluster({ extraArgs: ['--checkpoint-every-entries', String(CHECKPOINT_EVERY)] });
afterEach(() => shared.release(), HOOK_TIMEOUT_MS);
afterAll(() => shared.close(), HOOK_TIMEOUT_MS);

/** Kills a follower; `writeWhileDown` makes the leader compact past it; restarts it with its links refusing. */
async function restartCutOff(c: CorralCluster, writeWhileDown: () => Promise<void>): Promise<{ leader: number; behind: number }> {
  const leader = await c.leader();
  const behind = c.ids.find((id) => id !== leader)!;
  await c.kill(behind);
  await writeWhileDown();
  c.isolate(behind, 'drop');
  await c.restart(behind);
  return { leader, behind };
}

/** How many checkpoints member `id` has completed (from its log). */
function checkpoints(c: CorralCluster, id: number): number {
  return c.output(id).split('\n').filter((line) => line.includes('"event":"checkpoint"')).length;
}

async function write(c: CorralCluster, url: string, path: string, data: string): Promise<bigint> {
  const reply = await request('PUT', `${url}/v1/znodes${path}`, { body: data, timeoutMs: 5000 });
  expect(reply.kind === 'reply' && reply.status, JSON.stringify(reply)).toBe(200);
  return BigInt((reply as { body: { stat: { mzxid: string } } }).body.stat.mzxid);
}

describe('watch streams on a member that catches up from a checkpoint', () => {
  it('say reset, then go on in order, when the member skipped changes', async () => {
    const c = await shared.get();
    const run = await startRun(c, { clients: 6 });
    await run.workload.waitForAcks(20, PROGRESS_TIMEOUT_MS);
    const { behind } = await restartCutOff(c, () => run.workload.waitForAcks(1.5 * CHECKPOINT_EVERY, PROGRESS_TIMEOUT_MS, 'writes while a follower is down'));
    run.note(`restarted ${behind}, cut off`);
    const late = new WatchFollower(c.urls, run.root, run.startZxid, behind);
    run.followers.push(late);
    await waitFor(() => late.connections.length > 0, { timeoutMs: STREAM_WAIT_MS, what: `a stream on member ${behind}` });
    c.heal();
    run.note('healed');
    await waitFor(() => lastReset(late) !== undefined, { timeoutMs: STREAM_WAIT_MS, what: `the reset on member ${behind}'s stream` });
    await run.workload.waitForAcks(30, PROGRESS_TIMEOUT_MS, `writes after member ${behind} caught up`);
    const report = await finishRun(run);
    expect(lastReset(late)).toBeGreaterThan(run.startZxid);
    expect(report.resets.some((r) => r.startsWith(`replay on node ${behind}`)), report.resets.join('\n')).toBe(true);
  }, TEST_TIMEOUT_MS);

  it('never go back on a stream resumed past the checkpoint the member installs', async () => {
    const c = await shared.get();
    const root = '/resumed-past';
    const key = `${root}/k`;
    await mustWrite(c, 'POST', `/v1/znodes${root}`);
    await mustWrite(c, 'POST', `/v1/znodes${key}`);
    const { leader, behind } = await restartCutOff(c, async () => {
      for (let i = 0; i < 2.5 * CHECKPOINT_EVERY; i++) await write(c, c.url(c.liveIds[0]!), key, `down-${i}`);
    });
    // One write right after a checkpoint completes: its zxid is past that checkpoint, and no
    // other checkpoint can come before the install (the log holds one entry since).
    const done = checkpoints(c, leader);
    for (let i = 0; checkpoints(c, leader) === done; i++) {
      expect(i, 'a checkpoint within its interval').toBeLessThan(2 * CHECKPOINT_EVERY);
      await write(c, c.url(leader), key, `until-checkpoint-${i}`);
    }
    const past = await write(c, c.url(leader), key, 'past the checkpoint');
    // A client that already has every event through `past` (from the leader) resumes on the member behind.
    const resumed = new WatchFollower(c.urls, root, past, behind, `${past}-0`);
    try {
      await waitFor(() => resumed.connections.length > 0, { timeoutMs: STREAM_WAIT_MS, what: `a stream on member ${behind}` });
      c.heal();
      await waitFor(async () => BigInt((await c.view(behind))?.commitZxid ?? '0') >= past, { timeoutMs: STREAM_WAIT_MS, what: `member ${behind} to catch up` });
      const next = await write(c, c.url(leader), key, 'after the install');
      await resumed.until(next, STREAM_WAIT_MS);
      const old = resumed.events.filter((e) => e.zxid <= past).map((e) => e.id);
      expect(old, `events the client had (through ${past}) sent again after ${JSON.stringify(resumed.notices)}`).toEqual([]);
      expect(resumed.events.map((e) => e.zxid)).toEqual([next]);
    } finally {
      await resumed.close();
    }
  }, TEST_TIMEOUT_MS);
});

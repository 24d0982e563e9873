/**
 * Observers in a real cluster (3 voters + 2 observers, five processes): an observer shows its
 * role in /v1/cluster, forwards writes to the leader, and keeps serving reads, a session (its
 * keepalives, its ephemeral, its event stream) and a session-less watch stream while the leader
 * is SIGKILLed and the voters elect another; no acknowledged write is lost, and no observer
 * ever leads. Every wait is bounded; only 127.0.0.1.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse } from '../../src/client/sse.ts';
import { CorralCluster, request, type Reply } from '../support/corral-cluster.ts';
import { waitFor } from '../support/corral-process.ts';

const VOTERS = [1, 2, 3];
const OBSERVERS = [4, 5];
const SESSION_TIMEOUT_MS = 8000;
const ELECTION_BOUND_MS = 15_000;
const TEST_TIMEOUT_MS = 120_000;
/** A keepalive a second: an eighth of the session's timeout. */
const KEEPALIVE_EVERY_MS = SESSION_TIMEOUT_MS / 8;
/** Keepalives sent at most while the leader is replaced. */
const KEEPALIVES_MAX = 120;

let cluster: CorralCluster;

beforeAll(async () => {
  cluster = await CorralCluster.start({ size: 3, observers: 2, raftTickMs: 50 });
}, 180_000);
afterAll(async () => {
  await cluster?.close();
}, 60_000);

function body(reply: Reply, status: number, what: string): any {
  expect(reply.kind === 'reply' && reply.status, `${what}: ${JSON.stringify(reply)}`).toBe(status);
  return (reply as { body: any }).body;
}

/** Retries a request on 503 (no leader yet) until it gets another answer, bounded. */
async function untilNot503(send: () => Promise<Reply>, what: string): Promise<Reply> {
  return waitFor(async () => {
    const reply = await send();
    return reply.kind === 'reply' && reply.status !== 503 ? reply : undefined;
  }, { timeoutMs: ELECTION_BOUND_MS, what });
}

/** Collects the `watch` events of an event stream into `into` until `signal` aborts it. */
async function collect(url: string, headers: Record<string, string>, signal: AbortSignal, into: Array<{ type: string; path: string }>): Promise<void> {
  const response = await fetch(url, { headers, signal });
  expect(response.status).toBe(200);
  try {
    for await (const event of readSse(response.body!)) {
      if (event.event === 'watch') into.push(JSON.parse(event.data) as { type: string; path: string });
    }
  } catch {
    // aborted at the end of the test
  }
}

describe('observers (3 voters + 2 observers)', () => {
  it('shows each observer\'s role in /v1/cluster, on the observers and on the voters', async () => {
    const leader = await cluster.leader();
    expect(VOTERS).toContain(leader);
    for (const id of OBSERVERS) {
      const view = await cluster.view(id);
      expect(view).toMatchObject({ self: id, role: 'observer', leader });
    }
    const fromLeader = await cluster.view(leader);
    const roles = Object.fromEntries(fromLeader!.members.map((m) => [m.id, m.role]));
    expect(roles).toMatchObject({ 4: 'observer', 5: 'observer', [leader]: 'leader' });
  }, TEST_TIMEOUT_MS);

  it('serves reads, a session and watch streams at an observer through a leader SIGKILL, losing no acknowledged write', async () => {
    const observer = OBSERVERS[0]!;
    const at = cluster.url(observer);
    const old = await cluster.leader();
    const opened = body(await request('POST', `${at}/v1/sessions`, { body: { timeoutMs: SESSION_TIMEOUT_MS }, timeoutMs: 10_000 }), 201, 'open a session at the observer');
    const session = { 'zk-session-id': opened.id as string, 'zk-session-token': opened.token as string };
    body(await request('POST', `${at}/v1/znodes/obs`, { body: 'a', timeoutMs: 10_000 }), 201, 'create /obs through the observer');
    body(await request('POST', `${at}/v1/znodes/obs-eph?mode=ephemeral`, { headers: session, timeoutMs: 10_000 }), 201, 'an ephemeral of the observer\'s session');
    body(await request('POST', `${at}/v1/sessions/${opened.id}/watches`, { headers: session, body: { path: '/obs', mode: 'persistent' }, timeoutMs: 10_000 }), 201, 'addWatch at the observer');

    const streams = new AbortController();
    const watched: Array<{ type: string; path: string }> = [];
    const sessionEvents: Array<{ type: string; path: string }> = [];
    const pumps = [
      collect(`${at}/v1/watch/obs`, {}, streams.signal, watched),
      collect(`${at}/v1/sessions/${opened.id}/events`, { 'zk-session-token': session['zk-session-token'] }, streams.signal, sessionEvents),
    ];
    // Keepalives through the observer, forwarded to whichever leader there is (a 503 meanwhile is retried next round).
    let keeping = true;
    const keepalives: number[] = [];
    const keepalive = (async () => {
      for (let i = 0; keeping && i < KEEPALIVES_MAX; i++) {
        const reply = await request('POST', `${at}/v1/sessions/${opened.id}/keepalive`, { headers: session, timeoutMs: 5000 });
        keepalives.push(reply.kind === 'reply' ? reply.status : 0);
        await delay(KEEPALIVE_EVERY_MS); // pacing a session's heartbeat, not waiting for a condition
      }
    })();
    try {
      body(await request('PUT', `${at}/v1/znodes/obs`, { body: 'before', timeoutMs: 10_000 }), 200, 'setData before the kill');
      await cluster.kill(old);
      const after = await untilNot503(() => request('PUT', `${at}/v1/znodes/obs`, { body: 'after', timeoutMs: 10_000 }), 'setData through the observer once a new leader is elected');
      body(after, 200, 'setData after the kill');
      const leader = await cluster.leader({ among: cluster.ids.filter((id) => id !== old), timeoutMs: ELECTION_BOUND_MS });
      expect(VOTERS).toContain(leader);

      const read = body(await request('GET', `${at}/v1/znodes/obs?consistency=linearizable`, { timeoutMs: 10_000 }), 200, 'a linearizable read at the observer');
      expect(read.data).toBe('after');
      body(await request('GET', `${at}/v1/znodes/obs-eph`, { timeoutMs: 10_000 }), 200, 'the session\'s ephemeral, still there');
      await waitFor(() => watched.filter((e) => e.type === 'NodeDataChanged').length >= 2 || undefined, { timeoutMs: 10_000, what: 'both changes on the watch stream' });
      await waitFor(() => sessionEvents.filter((e) => e.type === 'NodeDataChanged').length >= 2 || undefined, { timeoutMs: 10_000, what: 'both changes on the session stream' });
      const last = body(await request('POST', `${at}/v1/sessions/${opened.id}/keepalive`, { headers: session, timeoutMs: 10_000 }), 200, 'a keepalive after the election');
      expect(last.id).toBe(opened.id);
      for (const id of OBSERVERS) expect((await cluster.view(id))?.role).toBe('observer');
    } finally {
      keeping = false;
      streams.abort();
      await keepalive;
      await Promise.all(pumps);
    }
    expect(watched.map((e) => e.path)).toEqual(['/obs', '/obs']);
    // A session never expired: every keepalive was answered 200 or (while no leader) 503.
    expect(keepalives.every((status) => status === 200 || status === 503)).toBe(true);
    await cluster.restart(old);
  }, TEST_TIMEOUT_MS);
});

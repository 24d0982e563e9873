// Specification of a session stream's life over a real socket (API.md, Sessions; ZK-SEMANTICS.md,
// Sessions): heartbeats, the stream keeping its session alive, how a closed or expired session's
// stream ends, and sessions across a node restart. tickTime 100 ms: timeouts in [200, 2000] ms.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/corral-process.ts';
import { harness, LiveServer, type LiveSession } from '../session/live-server.ts';
import type { SseEvent, SseStream } from './sse-reader.ts';

const TICK_MS = 100;
let live: LiveServer;
beforeEach(async () => {
  live = await LiveServer.start(TICK_MS);
});
afterEach(async () => {
  await live.closeAll();
});

const present = async (path: string) => (await live.call('GET', `/v1/stat${path}`)).status === 200;
const keepalive = (s: LiveSession) => live.call('POST', `/v1/sessions/${s.id}/keepalive`, { session: s });
const waitGone = (path: string, timeoutMs: number) =>
  waitFor(async () => !(await present(path)), { timeoutMs, what: `${path} to be deleted` });
const line = (e: SseEvent) => {
  const data = JSON.parse(e.data) as { type?: string; path?: string; state?: string };
  return e.event === 'watch' ? `${data.type} ${data.path}` : `${e.event} ${data.state}`;
};

describe('session event stream: heartbeats and liveness', () => {
  it('sends a comment line at least every timeoutMs/3', async () => {
    const s = await live.openSession(600);
    const stream = await live.stream(s);
    const openedAt = Date.now();
    await stream.until(() => stream.comments.length >= 8, 5000, '8 comment lines');
    const arrivals = [openedAt, ...stream.comments.map((c) => c.atMs)];
    const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
    // "At least every timeoutMs/3": a server that aims at exactly timeoutMs/3 lands a few ms late
    // every time (timers never fire early), so it has to aim below it: the typical gap shows the
    // aim. A loaded machine may delay one beat (358 ms once at load 9), never by a whole timeout.
    const sorted = [...gaps].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)], `gaps ${gaps.join(', ')} ms`).toBeLessThanOrEqual(s.timeoutMs / 3);
    expect(Math.max(...gaps), `gaps ${gaps.join(', ')} ms`).toBeLessThan(s.timeoutMs);
  });

  it('keeps the session alive past its timeout while the stream is open, without keepalives', async () => {
    const s = await live.openSession(200);
    await live.create('/held', 'ephemeral', s);
    const stream = await live.stream(s);
    const openedAt = Date.now();
    await stream.until(() => {
      const last = stream.comments[stream.comments.length - 1];
      return last !== undefined && last.atMs - openedAt >= 5 * s.timeoutMs;
    }, 5000, 'five timeouts of heartbeats');
    expect(await present('/held')).toBe(true);
    expect(stream.ended).toBe(false);
    // Once the stream is gone the session is silent, and it expires.
    stream.abort();
    await waitGone('/held', 5000);
  });
});

describe('session event stream: the end of a session', () => {
  async function sessionWithEphemerals(timeoutMs: number): Promise<{ s: LiveSession; stream: SseStream }> {
    const s = await live.openSession(timeoutMs);
    await live.create('/c');
    await live.create('/c/e1', 'ephemeral', s);
    await live.create('/c/e2', 'ephemeral', s);
    for (const path of ['/v1/znodes/c/e1', '/v1/stat/c/e2', '/v1/children/c']) {
      expect((await live.call('GET', `${path}?watch=true`, { session: s })).status).toBe(200);
    }
    const stream = await live.stream(s);
    expect(stream.status).toBe(200);
    return { s, stream };
  }

  /** The close's events: its ephemerals' deletions (in no particular order), then the end, all at one zxid. */
  function expectEnd(events: readonly SseEvent[], state: 'closed' | 'expired'): void {
    const lines = events.map(line);
    expect(lines[lines.length - 1]).toBe(`session ${state}`);
    expect(new Set(lines.slice(0, -1))).toEqual(new Set(['NodeDeleted /c/e1', 'NodeDeleted /c/e2', 'NodeChildrenChanged /c']));
    expect(lines.slice(0, -1).indexOf('NodeChildrenChanged /c')).toBeGreaterThan(0); // after a deletion
    const zxid = events[0]!.id!.split('-')[0];
    expect(events.map((e) => e.id)).toEqual(events.map((_, k) => `${zxid}-${k}`));
    expect(JSON.parse(events[events.length - 1]!.data)).toEqual({ state, zxid });
  }

  it('ends a closed session\'s stream with {state: closed} after its ephemerals\' NodeDeleted events', async () => {
    const { s, stream } = await sessionWithEphemerals(2000);
    expect((await live.call('DELETE', `/v1/sessions/${s.id}`, { session: s })).status).toBe(204);
    await stream.untilEnded();
    expectEnd(stream.events, 'closed');
    expect(stream.failure).toBeUndefined();
  });

  it('ends an expired session\'s stream with {state: expired} when its client comes back', async () => {
    // An open stream keeps its session alive, so a session expires only while its client is away;
    // the client learns of the expiry when it reconnects with Last-Event-ID.
    const { s, stream } = await sessionWithEphemerals(300);
    await live.call('PUT', '/v1/znodes/c/e1', { body: 'x' });
    const [seen] = await stream.untilEvents(1);
    expect(line(seen!)).toBe('NodeDataChanged /c/e1');
    await live.call('GET', '/v1/znodes/c/e1?watch=true', { session: s }); // the one-shot fired: set it again
    stream.abort();
    await waitGone('/c/e2', 5000);
    if (harness === 'gateway') {
      // On a gateway the session expired in the ensemble while no connection of it was held (its
      // client was away), and ZooKeeper dropped its watches with that connection: the stream ends
      // with {state: expired} alone, dated at or after the expiry (a zxid written after it here)
      // and after the client's last event (docs/operations.md, "a session that expires while its
      // client is away").
      const after = await live.create('/after-expiry');
      const back = await live.stream(s, { lastEventId: seen!.id });
      expect(back.status, JSON.stringify(back.errorBody)).toBe(200);
      await back.untilEnded();
      expect(back.events.map(line)).toEqual(['session expired']);
      const { zxid } = JSON.parse(back.events[0]!.data) as { zxid: string };
      expect(back.events[0]!.id).toBe(`${zxid}-0`);
      expect(BigInt(zxid) >= BigInt(after.stat.czxid!), `the end at ${zxid}, a write after the expiry at ${after.stat.czxid}`).toBe(true);
      expect(BigInt(zxid) > BigInt(seen!.id!.split('-')[0]!)).toBe(true);
      return;
    }
    const back = await live.stream(s, { lastEventId: seen!.id });
    expect(back.status, JSON.stringify(back.errorBody)).toBe(200);
    await back.untilEnded();
    expectEnd(back.events, 'expired');
  });
});

describe('sessions across a node restart', () => {
  it('keeps sessions and their ephemerals, and expires those nobody comes back to', async () => {
    const away = await live.openSession(1500);
    const back = await live.openSession(1500);
    const awayNode = await live.create('/away', 'ephemeral', away);
    await live.create('/back', 'ephemeral', back);
    // A restarted node gives every session a whole timeout from when it is back (ZooKeeper's
    // rule for a new leader). Through a gateway the ensemble's clock never stopped: a session
    // nobody takes back expires a timeout after the last packet of its connection, whose pings
    // (src/zookeeper-client/connection.ts) are at most half a timeout apart: so at least half a
    // timeout after the gateway began to stop.
    const stoppingAt = Date.now();
    await live.restart();
    const restartedAt = Date.now();
    const [timerFrom, atLeastMs] = harness === 'gateway' ? [stoppingAt, away.timeoutMs / 2] : [restartedAt, away.timeoutMs];
    const stat = await live.call('GET', '/v1/stat/away');
    expect(stat.status).toBe(200);
    expect(stat.body.stat).toMatchObject({ ephemeralOwner: away.id, czxid: awayNode.stat.czxid });
    expect(await present('/back')).toBe(true);
    const stream = await live.stream(back);
    expect(stream.status).toBe(200);
    await waitGone('/away', 10_000);
    expect(Date.now() - timerFrom).toBeGreaterThanOrEqual(atLeastMs);
    expect(await present('/back')).toBe(true);
    expect((await keepalive(back)).status).toBe(200);
    expect((await keepalive(away)).status).toBe(410);
  });

  // Checkpoints are the embedded store's (a gateway keeps no state: the ensemble's sessions survive its restart, above).
  if (harness === 'embedded') it('recovers sessions from a checkpoint as well as from the log', async () => {
    const early = await live.openSession(1500);
    await live.create('/early', 'ephemeral', early);
    expect(await live.node.checkpointer.checkpointNow()).toBe(true);
    const late = await live.openSession(1500);
    await live.create('/late', 'ephemeral', late);
    await live.restart();
    expect((await live.call('GET', '/v1/stat/early')).body.stat.ephemeralOwner).toBe(early.id);
    expect((await live.call('GET', '/v1/stat/late')).body.stat.ephemeralOwner).toBe(late.id);
    expect((await keepalive(early)).status).toBe(200);
    expect((await keepalive(late)).status).toBe(200);
    await waitGone('/early', 10_000);
    await waitGone('/late', 10_000);
    expect((await keepalive(early)).status).toBe(410);
  });

  /**
   * Sets an exists watch on a fresh path, creates it and waits for its event (every earlier event
   * has arrived then) or for a stream-level event (overflow, reset) saying events were lost.
   */
  async function settle(s: LiveSession, stream: SseStream): Promise<SseEvent[]> {
    await live.call('HEAD', '/v1/znodes/sentinel?watch=true', { session: s });
    await live.create('/sentinel');
    const done = () => stream.events.some((e) => e.data.includes('/sentinel') || (e.event !== 'watch' && e.event !== 'session'));
    await stream.until(done, 5000, 'the sentinel or an overflow');
    return stream.events.filter((e) => !e.data.includes('/sentinel'));
  }

  it('keeps a session\'s watches across a restart, or tells its stream they were lost', async () => {
    const s = await live.openSession(2000);
    await live.create('/w');
    await live.call('GET', '/v1/znodes/w?watch=true', { session: s });
    expect((await live.call('POST', `/v1/sessions/${s.id}/watches`, { session: s, body: { path: '/p', mode: 'persistent' } })).status).toBe(201);
    const first = await live.stream(s);
    await live.create('/p');
    const [seen] = await first.untilEvents(1);
    await live.restart();
    const stream = await live.stream(s, { lastEventId: seen!.id });
    expect(stream.status).toBe(200);
    await live.call('PUT', '/v1/znodes/w', { body: 'x' });
    await live.call('PUT', '/v1/znodes/p', { body: 'x' });
    const events = await settle(s, stream);
    if (events[0]?.event !== 'overflow' && events[0]?.event !== 'reset') {
      expect(events.map(line), 'ZooKeeper keeps a session\'s watches when its server goes away').toEqual(['NodeDataChanged /w', 'NodeDataChanged /p']);
    }
  });

  it('replays a session\'s undelivered events after a restart, or tells its stream they were lost', async () => {
    const s = await live.openSession(2000);
    expect((await live.call('POST', `/v1/sessions/${s.id}/watches`, { session: s, body: { path: '/u', mode: 'persistent' } })).status).toBe(201);
    const first = await live.stream(s);
    await live.create('/u');
    const [seen] = await first.untilEvents(1);
    first.abort();
    await live.call('PUT', '/v1/znodes/u', { body: 'missed' }); // queued while the client is away
    await live.restart();
    const stream = await live.stream(s, { lastEventId: seen!.id });
    expect(stream.status).toBe(200);
    const events = await settle(s, stream);
    if (events[0]?.event !== 'overflow' && events[0]?.event !== 'reset') {
      expect(events.map(line), 'the event queued before the restart').toEqual(['NodeDataChanged /u']);
    }
  });
});

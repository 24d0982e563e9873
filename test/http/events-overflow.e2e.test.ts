// Specification of a session stream's bounded outbox over a real socket (API.md, Sessions:
// Last-Event-ID gets every missed event, none twice; STYLE.md 7: breaking a limit is an explicit
// error, never silent loss): overflow is reported only when a reader needed dropped events, and a
// client told of an overflow can read state again and open a working stream.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/corral-process.ts';
import { LiveServer, type LiveSession } from '../session/live-server.ts';
import type { SseEvent } from './sse-reader.ts';

const OUTBOX_EVENTS_MAX = 3;
let live: LiveServer;
beforeEach(async () => {
  live = await LiveServer.start(100, { outboxEventsMax: OUTBOX_EVENTS_MAX });
});
afterEach(async () => {
  await live.closeAll();
});

const paths = (events: readonly SseEvent[]) => events.map((e) => (e.event === 'watch' ? (JSON.parse(e.data) as { path: string }).path : e.event));

/**
 * Creates `paths` and waits until the session's outbox has every event of them: a request for the
 * session with Zk-Min-Zxid at the last one's zxid. The embedded store queues a write's events
 * before it answers; a gateway queues them off the write's path, and such a request answers once
 * the session's connection is past that zxid and what it received is queued (docs/operations.md).
 */
async function createQueued(s: LiveSession, paths: readonly string[]): Promise<void> {
  let zxid = '0';
  for (const path of paths) zxid = String((await live.create(path)).stat.czxid);
  expect((await live.call('GET', '/v1/stat/', { session: s, headers: { 'zk-min-zxid': zxid } })).status).toBe(200);
}

async function watchedSession(): Promise<LiveSession> {
  const s = await live.openSession(2000);
  const added = await live.call('POST', `/v1/sessions/${s.id}/watches`, { session: s, body: { path: '/o', mode: 'persistent_recursive' } });
  expect(added.status).toBe(201);
  return s;
}

describe('session event stream: a bounded outbox', () => {
  it('sends event: overflow to a reader that needs dropped events, then goes on with what is kept and what comes', async () => {
    const s = await watchedSession();
    await createQueued(s, ['/o', '/o/1', '/o/2', '/o/3', '/o/4']);
    const stream = await live.stream(s);
    expect(stream.status).toBe(200);
    await stream.untilEvents(4);
    await live.create('/o/5');
    await stream.untilEvents(5);
    expect(paths(stream.events)).toEqual(['overflow', '/o/2', '/o/3', '/o/4', '/o/5']);
    expect(stream.ended).toBe(false);
  });

  it('replays without overflow when every missed event is still kept', async () => {
    const s = await watchedSession();
    const first = await live.stream(s);
    await live.create('/o');
    await live.create('/o/1');
    const seen = await first.untilEvents(2);
    first.abort();
    await createQueued(s, ['/o/2', '/o/3', '/o/4']); // /o and /o/1 are dropped now
    const second = await live.stream(s, { lastEventId: seen[1]!.id });
    await second.untilEvents(3);
    expect(paths(second.events)).toEqual(['/o/2', '/o/3', '/o/4']);
  });

  it('resumes a reader cut off after an overflow from its last id, with no second overflow', async () => {
    const s = await watchedSession();
    await createQueued(s, ['/o', '/o/1', '/o/2', '/o/3', '/o/4']);
    const first = await live.stream(s);
    const seen = await first.untilEvents(4);
    first.abort();
    await live.create('/o/5');
    const second = await live.stream(s, { lastEventId: seen[3]!.id });
    await second.untilEvents(1);
    expect(paths(second.events)).toEqual(['/o/5']);
  });

  it('announces events lost in a restart with overflow, then delivers the watches set again', async () => {
    const s = await watchedSession();
    const first = await live.stream(s);
    await live.create('/o');
    const [seen] = await first.untilEvents(1);
    await live.restart();
    const stream = await live.stream(s, { lastEventId: seen!.id });
    const [overflow] = await stream.untilEvents(1);
    expect(overflow!.event).toMatch(/^(overflow|reset)$/);
    // The client sets its watches again, as the overflow told it to.
    await live.call('POST', `/v1/sessions/${s.id}/watches`, { session: s, body: { path: '/o', mode: 'persistent_recursive' } });
    await live.create('/o/after');
    await stream.untilEvents(2);
    expect(paths(stream.events).slice(1)).toEqual(['/o/after']);
  });
});

describe('session event stream: one stream per session, a bounded number per node', () => {
  it('replaces a session\'s stream with a newer one; the older one ends', async () => {
    const s = await watchedSession();
    const older = await live.stream(s);
    const newer = await live.stream(s);
    expect(newer.status).toBe(200);
    await older.untilEnded();
    await live.create('/o');
    await newer.untilEvents(1);
    expect(paths(newer.events)).toEqual(['/o']);
  });

  it('refuses a stream past maxStreams with 429 THROTTLEDOP, and takes one again once a stream ends', async () => {
    const limited = await LiveServer.start(100, { maxStreams: 1 });
    try {
      const [a, b] = [await limited.openSession(2000), await limited.openSession(2000)];
      const first = await limited.stream(a);
      expect(first.status).toBe(200);
      const refused = await limited.stream(b);
      expect(refused.status).toBe(429);
      expect(refused.errorBody).toMatchObject({ code: 'THROTTLEDOP' });
      expect((await limited.stream(a)).status).toBe(200); // a reconnect replaces, it does not add
      expect((await limited.call('DELETE', `/v1/sessions/${a.id}`, { session: a })).status).toBe(204);
      // The closed session's stream ends once it has written its last event: then b may have one.
      const second = await waitFor(async () => {
        const attempt = await limited.stream(b);
        return attempt.status === 200 && attempt;
      }, { timeoutMs: 5000, what: 'a stream slot to be free' });
      expect(second.status).toBe(200);
    } finally {
      await limited.closeAll();
    }
  });
});


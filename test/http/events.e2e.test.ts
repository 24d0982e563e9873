// Specification of a session's event stream over a real socket (API.md, Sessions; ZK-SEMANTICS.md,
// Watches): event order and ids, which reads set which watches, the event-before-result rule,
// Last-Event-ID replay and the ?token= form. Lifecycle (heartbeats, close, expiry, restart):
// events-lifecycle.e2e.test.ts. Also run against a gateway over ZooKeeper
// (test/backend/zookeeper/events.gateway.e2e.test.ts): there an event's zxid is the gateway's
// dating of ZooKeeper's notification, at or after the change's (docs/operations.md, "event zxids").
import { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

async function sessionWithStream(): Promise<{ s: LiveSession; stream: SseStream }> {
  const s = await live.openSession(2000);
  const stream = await live.stream(s);
  expect(stream.status).toBe(200);
  return { s, stream };
}

let sentinels = 0;
/** Sets an exists watch on a fresh path, creates it and waits for its event: every earlier event has arrived then. */
async function settle(s: LiveSession, stream: SseStream): Promise<void> {
  const path = `/sentinel-${++sentinels}`;
  expect((await live.call('HEAD', `/v1/znodes${path}?watch=true`, { session: s })).status).toBe(404);
  await live.create(path);
  await stream.until(() => stream.watchEvents().includes(`NodeCreated ${path}`), 5000, `NodeCreated ${path}`);
}

const watchesOf = (events: readonly SseEvent[]) => events.filter((e) => e.event === 'watch' && !e.data.includes('/sentinel-'));
const described = (events: readonly SseEvent[]) => events.map((e) => {
  const data = JSON.parse(e.data) as { type: string; path: string };
  return `${data.type} ${data.path}`;
});
const idOf = (id: string | undefined) => {
  const m = /^(\d+)-(\d+)$/.exec(id ?? '');
  if (!m) throw new Error(`bad event id ${id}`);
  return { zxid: BigInt(m[1]!), k: Number(m[2]) };
};
/**
 * The events' ids are `<zxid>-0` and their zxids those of their changes: exactly on the embedded
 * store; on a gateway, each at or after its change's (the zxid of a read answered after the
 * notification), the id naming the event's own zxid.
 */
function expectDatedAt(events: readonly SseEvent[], changes: readonly (string | number)[]): void {
  const dated = events.map((e) => (JSON.parse(e.data) as { zxid: string }).zxid);
  if (harness === 'embedded') {
    expect(events.map((e) => e.id)).toEqual(changes.map((z) => `${z}-0`));
    expect(dated).toEqual(changes.map(String));
    return;
  }
  expect(events.map((e) => idOf(e.id).zxid)).toEqual(dated.map(BigInt));
  dated.forEach((z, i) => expect(BigInt(z) >= BigInt(changes[i]!), `event ${events[i]!.id} at or after its change ${changes[i]}`).toBe(true));
}
/** The events share one zxid, their ids `<zxid>-0`, `<zxid>-1`, …: the change's (embedded), at or after it (gateway). */
function expectOneTransaction(events: readonly SseEvent[], change: string | number): void {
  const zxid = harness === 'embedded' ? String(change) : String(idOf(events[0]!.id).zxid);
  expect(events.map((e) => e.id)).toEqual(events.map((_, k) => `${zxid}-${k}`));
  expect(BigInt(zxid) >= BigInt(change), `${zxid} at or after the change's zxid ${change}`).toBe(true);
}
const put = (path: string, data = 'x', s?: LiveSession) => live.call('PUT', `/v1/znodes${path}`, { body: data, session: s });

describe('session event stream: order and ids', () => {
  it('answers 200 text/event-stream with Zk-Zxid', async () => {
    const { stream } = await sessionWithStream();
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('zk-zxid')).toMatch(/^\d+$/);
  });

  it('sends events in zxid order with unique increasing ids <zxid>-<k> that match their zxid', async () => {
    const { s, stream } = await sessionWithStream();
    expect((await live.call('POST', `/v1/sessions/${s.id}/watches`, { session: s, body: { path: '/o', mode: 'persistent_recursive' } })).status).toBe(201);
    const zxids = [
      (await live.create('/o')).stat.czxid, (await live.create('/o/a')).stat.czxid,
      (await put('/o/a')).body.stat.mzxid, (await put('/o')).body.stat.mzxid,
    ];
    const removed = await live.call('DELETE', '/v1/znodes/o/a');
    expect(removed.status).toBe(204);
    zxids.push(removed.headers.get('zk-zxid')!);
    await settle(s, stream);
    const events = watchesOf(stream.events);
    expect(described(events)).toEqual(['NodeCreated /o', 'NodeCreated /o/a', 'NodeDataChanged /o/a', 'NodeDataChanged /o', 'NodeDeleted /o/a']);
    expectDatedAt(events, zxids);
    const all = stream.events.map((e) => idOf(e.id));
    for (let i = 1; i < all.length; i++) {
      const [a, b] = [all[i - 1]!, all[i]!];
      expect(a.zxid < b.zxid || (a.zxid === b.zxid && b.k === a.k + 1), `${stream.events[i - 1]!.id} then ${stream.events[i]!.id}`).toBe(true);
    }
  });

  it('sends the node\'s own event before its parent\'s NodeChildrenChanged, with ids z-0 and z-1', async () => {
    const { s, stream } = await sessionWithStream();
    await live.create('/p');
    await live.call('GET', '/v1/stat/p/c?watch=true', { session: s });
    await live.call('GET', '/v1/children/p?watch=true', { session: s });
    const { czxid } = (await live.create('/p/c')).stat;
    await live.call('GET', '/v1/znodes/p/c?watch=true', { session: s });
    await live.call('GET', '/v1/children/p?watch=true', { session: s });
    const removed = await live.call('DELETE', '/v1/znodes/p/c');
    const deleted = removed.headers.get('zk-zxid');
    const events = await stream.untilEvents(4);
    expect(described(events)).toEqual(['NodeCreated /p/c', 'NodeChildrenChanged /p', 'NodeDeleted /p/c', 'NodeChildrenChanged /p']);
    expectOneTransaction(events.slice(0, 2), czxid!);
    expectOneTransaction(events.slice(2), deleted!);
  });

  it('sends a multi\'s events in op order, all with the multi\'s zxid', async () => {
    const { s, stream } = await sessionWithStream();
    await live.create('/m');
    for (const mode of ['persistent', 'persistent_recursive']) {
      await live.call('POST', `/v1/sessions/${s.id}/watches`, { session: s, body: { path: '/m', mode } });
    }
    const ops = [
      { op: 'create', path: '/m/x' }, { op: 'setData', path: '/m', data: 'd' },
      { op: 'create', path: '/m/y' }, { op: 'delete', path: '/m/x' },
    ];
    const multi = await live.call('POST', '/v1/multi', { body: { ops } });
    expect(multi.status).toBe(200);
    const zxid = multi.body.results[1].stat.mzxid as string;
    const events = await stream.untilEvents(7);
    expect(described(events)).toEqual([
      'NodeCreated /m/x', 'NodeChildrenChanged /m', 'NodeDataChanged /m',
      'NodeCreated /m/y', 'NodeChildrenChanged /m', 'NodeDeleted /m/x', 'NodeChildrenChanged /m',
    ]);
    expectOneTransaction(events, zxid);
  });
});

describe('session event stream: which reads set watches', () => {
  it('fires an exists watch set on a missing node with NodeCreated', async () => {
    const { s, stream } = await sessionWithStream();
    expect((await live.call('HEAD', '/v1/znodes/later?watch=true', { session: s })).status).toBe(404);
    await live.create('/later');
    await stream.until(() => stream.watchEvents().includes('NodeCreated /later'), 5000, 'NodeCreated /later');
  });

  it('sets no watch with getData or getChildren on a missing node', async () => {
    const { s, stream } = await sessionWithStream();
    expect((await live.call('GET', '/v1/znodes/gone?watch=true', { session: s })).status).toBe(404);
    expect((await live.call('GET', '/v1/children/gone?watch=true', { session: s })).status).toBe(404);
    await live.create('/gone');
    await live.create('/gone/kid');
    await settle(s, stream);
    expect(described(watchesOf(stream.events))).toEqual([]);
  });

  it('fires a one-shot watch once', async () => {
    const { s, stream } = await sessionWithStream();
    await live.create('/once');
    await live.call('GET', '/v1/znodes/once?watch=true', { session: s });
    await put('/once', '1');
    await put('/once', '2');
    await settle(s, stream);
    expect(described(watchesOf(stream.events))).toEqual(['NodeDataChanged /once']);
  });
});

describe('session event stream: several kinds of watch on one path', () => {
  // A gateway over ZooKeeper 3.8 has to make this hold itself: 3.8 keeps one watch mode per
  // connection and path (ZOOKEEPER-4466), src/backend/zookeeper/watch-modes.ts.
  it('keeps a persistent watch through one-shot reads of its path', async () => {
    const { s, stream } = await sessionWithStream();
    await live.create('/k');
    expect((await live.call('POST', `/v1/sessions/${s.id}/watches`, { session: s, body: { path: '/k', mode: 'persistent' } })).status).toBe(201);
    expect((await live.call('GET', '/v1/znodes/k?watch=true', { session: s })).status).toBe(200);
    expect((await live.call('GET', '/v1/children/k?watch=true', { session: s })).status).toBe(200);
    await put('/k', '1');
    await put('/k', '2');
    await live.create('/k/a');
    await live.create('/k/b');
    await settle(s, stream);
    expect(described(watchesOf(stream.events))).toEqual(['NodeDataChanged /k', 'NodeDataChanged /k', 'NodeChildrenChanged /k', 'NodeChildrenChanged /k']);
  });

  it('keeps a recursive watch through a persistent watch and a one-shot read of its path, and hears what each of them hears', async () => {
    const { s, stream } = await sessionWithStream();
    await live.create('/r');
    for (const mode of ['persistent_recursive', 'persistent']) {
      expect((await live.call('POST', `/v1/sessions/${s.id}/watches`, { session: s, body: { path: '/r', mode } })).status).toBe(201);
    }
    expect((await live.call('GET', '/v1/znodes/r?watch=true', { session: s })).status).toBe(200);
    await live.create('/r/x');
    await put('/r/x');
    await live.create('/r/x/y');
    await put('/r', '1');
    await put('/r', '2');
    await live.call('DELETE', '/v1/znodes/r/x/y');
    await settle(s, stream);
    expect(described(watchesOf(stream.events))).toEqual([
      'NodeCreated /r/x', 'NodeChildrenChanged /r', 'NodeDataChanged /r/x', 'NodeCreated /r/x/y',
      'NodeDataChanged /r', 'NodeDataChanged /r', 'NodeDeleted /r/x/y',
    ]);
  });
});

describe('session event stream: an event comes before the result that reflects it', () => {
  /** Lets the client process bytes it has already received (undici hands a body chunk on one turn later); no timers. */
  async function drainReceived(): Promise<void> {
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
  }

  it('has the change\'s event on the stream once the write\'s response has arrived', async () => {
    const { s, stream } = await sessionWithStream();
    await live.create('/seen');
    for (let round = 1; round <= 20; round++) {
      await live.call('GET', '/v1/znodes/seen?watch=true', { session: s });
      const written = await put('/seen', String(round), s);
      expect(written.status).toBe(200);
      await drainReceived();
      expect(stream.events.map((e) => e.id), `round ${round}`).toContain(`${written.body.stat.mzxid}-0`);
    }
  });

  it('writes the event to the stream\'s socket before it writes the write\'s response', async () => {
    const { s, stream } = await sessionWithStream();
    await live.create('/order');
    const writes: string[] = [];
    const original = Socket.prototype.write;
    Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      if (text.startsWith('event: watch')) writes.push('event');
      else if (text.startsWith('HTTP/1.1 200')) writes.push('response');
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof original;
    try {
      for (let round = 1; round <= 10; round++) {
        await live.call('GET', '/v1/znodes/order?watch=true', { session: s });
        writes.length = 0;
        expect((await put('/order', String(round), s)).status).toBe(200);
        expect(writes, `round ${round}`).toEqual(['event', 'response']);
      }
    } finally {
      Socket.prototype.write = original;
    }
    await stream.untilEvents(10);
  });
});

describe('session event stream: reconnecting', () => {
  it('replays exactly the missed events after Last-Event-ID, none twice', async () => {
    const { s, stream: first } = await sessionWithStream();
    await live.call('POST', `/v1/sessions/${s.id}/watches`, { session: s, body: { path: '/r', mode: 'persistent_recursive' } });
    await live.create('/r');
    await live.create('/r/1');
    const seen = await first.untilEvents(2);
    first.abort();
    await live.create('/r/2');
    await put('/r/1');
    await live.call('DELETE', '/v1/znodes/r/2');
    const second = await live.stream(s, { lastEventId: seen[1]!.id });
    expect(second.status).toBe(200);
    await settle(s, second);
    expect(described(watchesOf(second.events))).toEqual(['NodeCreated /r/2', 'NodeDataChanged /r/1', 'NodeDeleted /r/2']);
    second.abort();
    const third = await live.stream(s, { lastEventId: seen[0]!.id });
    await third.until(() => third.events.length >= 1 + second.events.length, 5000, 'the replay from the first event on');
    expect(third.events.map((e) => e.id)).toEqual([seen[1]!.id, ...second.events.map((e) => e.id)]);
  });

  it('loses nothing and repeats nothing when cut in the middle of a burst', async () => {
    const { s, stream: first } = await sessionWithStream();
    await live.call('POST', `/v1/sessions/${s.id}/watches`, { session: s, body: { path: '/b', mode: 'persistent_recursive' } });
    await live.create('/b');
    const writes = (async () => {
      for (let i = 0; i < 40; i++) await live.create(`/b/${i}`);
    })();
    await first.untilEvents(6);
    first.abort();
    const received = [...first.events];
    const second = await live.stream(s, { lastEventId: received[received.length - 1]!.id });
    await writes;
    await settle(s, second);
    const ids = [...received, ...second.events].filter((e) => !e.data.includes('/sentinel-')).map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(41);
    expect(described(watchesOf([...received, ...second.events]))).toEqual(['NodeCreated /b', ...Array.from({ length: 40 }, (_, i) => `NodeCreated /b/${i}`)]);
  });

  it('replays to a first connection what was queued before it opened', async () => {
    const s = await live.openSession(2000);
    await live.call('HEAD', '/v1/znodes/early?watch=true', { session: s });
    await live.create('/early');
    const stream = await live.stream(s);
    await stream.until(() => stream.watchEvents().includes('NodeCreated /early'), 5000, 'NodeCreated /early');
  });
});

describe('session event stream: the token', () => {
  it('accepts the token as ?token= (for EventSource) and refuses a wrong or missing one with 401', async () => {
    const s = await live.openSession(2000);
    const byQuery = await live.stream(s, { tokenInQuery: true });
    expect(byQuery.status).toBe(200);
    await live.call('HEAD', '/v1/znodes/q?watch=true', { session: s });
    await live.create('/q');
    await byQuery.until(() => byQuery.watchEvents().includes('NodeCreated /q'), 5000, 'NodeCreated /q');
    for (const options of [{ tokenInQuery: true, token: 'nope' }, { token: 'nope' }, { token: '' }]) {
      const refused = await live.stream(s, options);
      expect(refused.status).toBe(401);
      expect(refused.errorBody).toMatchObject({ code: 'AUTHFAILED' });
    }
  });
});

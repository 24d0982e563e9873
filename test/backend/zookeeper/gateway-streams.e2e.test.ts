/**
 * Session-less streams through a gateway over a real ZooKeeper 3.8: a resume with Last-Event-ID
 * from the gateway's history, a resume from before the gateway watched the path (`reset`), a lone
 * stream's resume while its path's watch lingers (exact), a
 * request over ZooKeeper's jute.maxbuffer (413, the streams' connection kept), and
 * what a stream is told when the gateway's connection to ZooKeeper is cut under it (persistent
 * watches are re-set without catching up: `reset`), and a new stream answered only once its watch
 * is set, so a change made after its answer reaches it however slow ZooKeeper is. Each test
 * waits until ZooKeeper confirmed the watches it writes under, so the tests hold in any order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../../src/backend/zookeeper/gateway-server.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../../oracle/zookeeper-server.ts';
import { SseStream } from '../../http/sse-reader.ts';
import { waitFor } from '../../support/corral-process.ts';
import { startTcpCutter, type TcpCutter } from '../../zookeeper-client/tcp-cutter.ts';
import { FaultProxy } from '../../support/fault-proxy.ts';
import { ZooKeeperClient } from '../../../src/zookeeper-client/client.ts';
import { GATEWAY_KEY, wipe } from './gateway-test-node.ts';
import { fetchJson } from '../../support/fetch-json.ts';

const call = (base: string, method: string, path: string, body?: string) => fetchJson(method, base + path, { body });

describe('session-less streams through a gateway', () => {
  let zk: ZooKeeperHandle;
  let cutter: TcpCutter;
  let direct: RunningGateway;
  let cut: RunningGateway;
  const streams: SseStream[] = [];
  const open = async (url: string, headers: Record<string, string> = {}) => {
    const stream = await SseStream.open(url, { headers, controller: new AbortController() });
    streams.push(stream);
    expect(stream.status).toBe(200);
    return stream;
  };

  beforeAll(async () => {
    zk = await startZooKeeper();
    cutter = await startTcpCutter(zk.port);
    direct = await startGateway({ host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.port}`, gatewayKey: GATEWAY_KEY });
    cut = await startGateway({ host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${cutter.port}`, gatewayKey: GATEWAY_KEY });
  });

  afterAll(async () => {
    for (const s of streams) s.abort();
    await cut?.close();
    await direct?.close();
    await cutter?.close();
    if (zk) await wipe(zk.port);
    await zk?.stop();
  });

  it('resumes after Last-Event-ID from what the gateway saw, missing nothing and repeating nothing', async () => {
    await call(direct.url, 'POST', '/v1/znodes/log', '');
    const keeper = await open(`${direct.url}/v1/watch/log?recursive=true`); // keeps the watch while the other reconnects
    const first = await open(`${direct.url}/v1/watch/log?recursive=true`);
    await waitFor(() => (direct.backend.changes.subscribers === 2 && direct.backend.changes.confirmedWatches().includes('r:/log') ? true : undefined), { timeoutMs: 5000, what: 'the subscriptions and ZooKeeper\'s watch' });
    await call(direct.url, 'POST', '/v1/znodes/log/a', '');
    await call(direct.url, 'POST', '/v1/znodes/log/b', '');
    await first.until(() => first.watchEvents().length >= 2, 5000, 'two events');
    const afterA = first.events.find((e) => e.event === 'watch')!.id!;
    first.abort();
    await call(direct.url, 'POST', '/v1/znodes/log/c', '');
    await keeper.until(() => keeper.watchEvents().length >= 3, 5000, 'the third event');
    const resumed = await open(`${direct.url}/v1/watch/log?recursive=true`, { 'last-event-id': afterA });
    await resumed.until(() => resumed.watchEvents().length >= 2, 5000, 'the replay');
    expect(resumed.watchEvents()).toEqual(['NodeCreated /log/b', 'NodeCreated /log/c']);
    expect(resumed.events.some((e) => e.event === 'reset')).toBe(false);
  });

  // A resume point is only as good as the history behind it: this gateway never watched /unseen,
  // so it knows none of its changes, and a resume from before its watch is set must be told so.
  // (Its floor was that of its other watches: the resume was answered with an empty replay.)
  it('resets a resume from before it watched the path, rather than replaying a history it does not have', async () => {
    const other = await open(`${direct.url}/v1/watch/elsewhere?recursive=true`); // a watch it holds meanwhile
    await waitFor(() => (direct.backend.changes.confirmedWatches().includes('r:/elsewhere') ? true : undefined), { timeoutMs: 5000, what: 'the other watch' });
    const created = await call(direct.url, 'POST', '/v1/znodes/unseen', '');
    expect(created.status).toBe(201);
    await call(direct.url, 'POST', '/v1/znodes/unseen/b', '');
    const resumed = await open(`${direct.url}/v1/watch/unseen?recursive=true&fromZxid=${created.body.stat.czxid}`);
    await waitFor(() => (direct.backend.changes.confirmedWatches().includes('r:/unseen') ? true : undefined), { timeoutMs: 5000, what: 'the watch on /unseen' });
    await call(direct.url, 'POST', '/v1/znodes/unseen/c', '');
    await resumed.until(() => resumed.watchEvents().includes('NodeCreated /unseen/c'), 5000, 'the event after the resume');
    expect(resumed.events[0]?.event, resumed.describe().slice(0, 300)).toBe('reset');
    expect(BigInt(JSON.parse(resumed.events[0]!.data).zxid) > BigInt(created.body.stat.czxid)).toBe(true);
    expect(resumed.watchEvents()).toEqual(['NodeCreated /unseen/c']);
    other.abort();
    resumed.abort();
  });

  // A browser's EventSource reconnects a few seconds after a network blip; when it was the path's
  // only subscriber here, the gateway has kept hearing the path meanwhile (--zookeeper-watch-linger-ms).
  it('resumes a lone stream that reconnects within the watch\'s linger exactly, with no reset', async () => {
    await call(direct.url, 'POST', '/v1/znodes/lone', '');
    const alone = await open(`${direct.url}/v1/watch/lone?recursive=true`);
    await waitFor(() => (direct.backend.changes.confirmedWatches().includes('r:/lone') ? true : undefined), { timeoutMs: 5000, what: 'the watch on /lone' });
    const before = direct.backend.changes.subscribers;
    await call(direct.url, 'POST', '/v1/znodes/lone/a', '');
    await alone.until(() => alone.watchEvents().length >= 1, 5000, 'the first event');
    const afterA = alone.events.find((e) => e.event === 'watch')!.id!;
    alone.abort();
    await waitFor(() => (direct.backend.changes.subscribers === before - 1 ? true : undefined), { timeoutMs: 5000, what: 'the stream gone' });
    await call(direct.url, 'POST', '/v1/znodes/lone/b', ''); // while nobody here subscribes to /lone
    const resumed = await open(`${direct.url}/v1/watch/lone?recursive=true`, { 'last-event-id': afterA });
    await call(direct.url, 'POST', '/v1/znodes/lone/c', '');
    await resumed.until(() => resumed.watchEvents().length >= 2, 5000, 'the replay and the live event');
    expect(resumed.events.some((e) => e.event === 'reset'), resumed.describe().slice(0, 300)).toBe(false);
    expect(resumed.watchEvents()).toEqual(['NodeCreated /lone/b', 'NodeCreated /lone/c']);
    resumed.abort();
  });

  it('answers a new stream once ZooKeeper set its watch, so a change made right after the answer reaches it rather than a reset', async () => {
    // The gateway's link to ZooKeeper is slow; the change is made by another ZooKeeper client at
    // once. Answered before its watch was set, the stream got `reset` for that change.
    const slow = await FaultProxy.start({ target: { host: '127.0.0.1', port: zk.port } });
    const behind = await startGateway({ host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${slow.port}`, gatewayKey: GATEWAY_KEY });
    const other = await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: zk.port }], sessionTimeoutMs: 10_000 });
    if ('code' in other) throw new Error(other.message);
    try {
      await call(direct.url, 'POST', '/v1/znodes/prompt', '');
      slow.setMode({ delayMs: 300 });
      const stream = await open(`${behind.url}/v1/watch/prompt?recursive=true`);
      expect(await other.create({ path: '/prompt/a', data: new Uint8Array(0), acl: [{ perms: 31, scheme: 'world', id: 'anyone' }], mode: 'persistent' })).not.toHaveProperty('code');
      await stream.until(() => stream.events.some((e) => e.event === 'watch' || e.event === 'reset'), 10_000, 'the change');
      expect(stream.events.map((e) => e.event), stream.describe().slice(0, 300)).toEqual(['watch']);
      expect(stream.watchEvents()).toEqual(['NodeCreated /prompt/a']);
      stream.abort();
    } finally {
      await other.close();
      await behind.close();
      await slow.close();
    }
  });

  // ZooKeeper closes the connection of a client that sends more than its jute.maxbuffer: on the
  // gateway's shared connection that failed every caller's request then in flight and reset every
  // stream. The gateway answers such a request 413 without sending it.
  it('answers a request over ZooKeeper\'s jute.maxbuffer 413 without costing its streams their connection', async () => {
    await call(direct.url, 'POST', '/v1/znodes/sizes', '');
    const stream = await open(`${direct.url}/v1/watch/sizes?recursive=true`);
    await waitFor(() => (direct.backend.changes.confirmedWatches().includes('r:/sizes') ? true : undefined), { timeoutMs: 5000, what: 'the watch on /sizes' });
    const name = 'n'.repeat(1500);
    const ops = Array.from({ length: 700 }, (_, i) => ({ op: 'create', path: `/sizes/${i}-${name}` })); // about 1.09 MB to ZooKeeper
    const refused = await fetchJson('POST', `${direct.url}/v1/multi`, { body: { ops } });
    expect(refused.status, JSON.stringify(refused.body).slice(0, 300)).toBe(413);
    expect(refused.body).toMatchObject({ code: 'BADARGUMENTS' });
    expect(await call(direct.url, 'GET', '/v1/children/sizes').then((r) => r.body.children)).toEqual([]);
    await call(direct.url, 'POST', '/v1/znodes/sizes/after', '');
    await stream.until(() => stream.watchEvents().includes('NodeCreated /sizes/after'), 5000, 'the event after the refused multi');
    expect(stream.events.map((e) => e.event)).toEqual(['watch']);
    stream.abort();
  });

  it('keeps serving after its connection to ZooKeeper is cut, and tells its streams to read again', async () => {
    await call(direct.url, 'POST', '/v1/znodes/cut', '');
    const stream = await open(`${cut.url}/v1/watch/cut?recursive=true`);
    // Until ZooKeeper confirms the watch, /cut/before could be missed (a `reset` instead): wait
    // for that, not only for the subscription. Other tests' writes through `direct` may have
    // moved the ensemble's zxid past what `cut` had seen, and its watch then starts with a
    // `reset` of its own: only a reset after the cut counts below.
    await waitFor(() => (cut.backend.changes.confirmedWatches().includes('r:/cut') ? true : undefined), { timeoutMs: 5000, what: 'ZooKeeper\'s watch on /cut' });
    await call(direct.url, 'POST', '/v1/znodes/cut/before', '');
    await stream.until(() => stream.watchEvents().includes('NodeCreated /cut/before'), 5000, 'the first event');
    const resetsBefore = stream.events.filter((e) => e.event === 'reset').length;
    cutter.cut();
    const meanwhile = await call(direct.url, 'POST', '/v1/znodes/cut/meanwhile', '');
    expect(meanwhile.status).toBe(201);
    const resetsAfterCut = () => stream.events.filter((e) => e.event === 'reset').slice(resetsBefore);
    await stream.until(() => resetsAfterCut().length > 0, 10_000, 'the reset after the reconnect');
    await waitFor(async () => ((await call(cut.url, 'GET', '/v1/znodes/cut/meanwhile')).status === 200 ? true : undefined), { timeoutMs: 10_000, what: 'reads through the reconnected gateway' });
    await call(direct.url, 'POST', '/v1/znodes/cut/after', '');
    await stream.until(() => stream.watchEvents().includes('NodeCreated /cut/after'), 5000, 'the event after the reconnect');
    // The change made while the gateway reconnected is lost to its re-added watch (unless the
    // watch was back first): the reset says so, dated at or after it ("what changed up to zxid is
    // unknown"), never before it with the change silently missing.
    const resetAt = BigInt(JSON.parse(resetsAfterCut()[0]!.data).zxid);
    const heard = stream.watchEvents().includes('NodeCreated /cut/meanwhile');
    expect(heard || resetAt >= BigInt(meanwhile.body.stat.czxid), `reset at ${resetAt}, /cut/meanwhile at ${meanwhile.body.stat.czxid}: ${stream.describe().slice(0, 500)}`).toBe(true);
  });

  // ZooKeeper 3.8 keeps one watch mode per connection and path (ZOOKEEPER-4466): the gateway's
  // exact and recursive watches on one path share its connection, so it holds the recursive one
  // and derives the exact stream's NodeChildrenChanged (gateway-changes.ts, watch-modes.ts).
  it('serves an exact and a recursive stream of one path side by side, whichever opened first', async () => {
    for (const [first, second] of [[true, false], [false, true]] as const) {
      const path = `/both-${first ? 'r' : 'e'}`;
      await call(direct.url, 'POST', `/v1/znodes${path}`, '');
      const a = await open(`${direct.url}/v1/watch${path}?recursive=${first}`);
      await waitFor(() => (direct.backend.changes.confirmedWatches().includes(`${first ? 'r' : 'e'}:${path}`) ? true : undefined), { timeoutMs: 5000, what: 'the first watch' });
      const b = await open(`${direct.url}/v1/watch${path}?recursive=${second}`);
      const [recursive, exact] = first ? [a, b] : [b, a];
      await waitFor(() => (direct.backend.changes.confirmedWatches().includes(`e:${path}`) && direct.backend.changes.confirmedWatches().includes(`r:${path}`) ? true : undefined), { timeoutMs: 5000, what: 'both watches' });
      await call(direct.url, 'POST', `/v1/znodes${path}/x`, '');
      await call(direct.url, 'PUT', `/v1/znodes${path}/x`, 'd');
      await call(direct.url, 'PUT', `/v1/znodes${path}`, 'd');
      await recursive.until(() => recursive.watchEvents().length >= 3, 5000, 'the recursive stream\'s three events');
      await exact.until(() => exact.watchEvents().length >= 2, 5000, 'the exact stream\'s two events');
      expect(recursive.watchEvents()).toEqual([`NodeCreated ${path}/x`, `NodeDataChanged ${path}/x`, `NodeDataChanged ${path}`]);
      expect(exact.watchEvents()).toEqual([`NodeChildrenChanged ${path}`, `NodeDataChanged ${path}`]);
      a.abort();
      b.abort();
    }
  });
});

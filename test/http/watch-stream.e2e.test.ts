// Specification of the session-less watch stream GET /v1/watch/{path}?recursive= over a real
// socket (API.md, "Session-less watch stream"; openapi.yaml, watchStream): which events each
// kind of watch gets, ids `<zxid>-<k>` with k counting this stream's events of the transaction,
// resuming with Last-Event-ID or ?fromZxid= (also in the middle of a multi, across replay pages,
// while writes go on, across a restart), `event: reset` when the history was trimmed, and 400 for
// a malformed resume point. Streams are read with test/http/sse-reader.ts (and, for a client
// that holds its reading back, src/client/sse.ts); every wait is bounded, and afterEach aborts
// every stream and closes the server. Against a gateway over ZooKeeper (the gateway's
// startStreamServer, test/backend/zookeeper/watch-stream.gateway.e2e.test.ts) the suite asserts
// what docs/operations.md says where a gateway's contract is weaker: a burst with a node created
// and deleted by one multi (whose ACL the gateway never reads) is a `reset`, a restart loses the
// in-memory history (`reset`), and ZooKeeper takes no request over jute.maxbuffer (1 MB).
import { afterEach, describe, expect, it } from 'vitest';
import { readSse, type SseEvent } from '../../src/client/sse.ts';
import { collectGarbage } from '../support/collect-garbage.ts';
import { harness, startStreamServer, type StreamServer } from '../support/test-node.ts';
import { SseStream } from './sse-reader.ts';
import { fetchJson } from '../support/fetch-json.ts';

const WAIT_MS = 5000;
const REQUEST_TIMEOUT_MS = 5000;

let server: StreamServer | undefined;
const controllers = new Set<AbortController>();

/** Starts a server on a fresh store. */
async function start(options: { historyEventsMax?: number } = {}): Promise<StreamServer> {
  server = await startStreamServer({ historyEventsMax: options.historyEventsMax ?? 100_000 });
  return server;
}

/** Restarts it on the same store (an embedded node on its data dir; a gateway over the same ensemble). */
async function restart(): Promise<StreamServer> {
  abortStreams();
  await server!.restart();
  return server!;
}

function abortStreams(): void {
  for (const controller of controllers) controller.abort();
  controllers.clear();
}

afterEach(async () => {
  abortStreams();
  const running = server;
  server = undefined;
  await running?.close();
});

const url = () => {
  if (!server) throw new Error('no server');
  return server.url;
};

// ---- writes --------------------------------------------------------------------------------

const call = (method: string, path: string, body?: string | object) => fetchJson(method, `${url()}${path}`, { body, timeoutMs: REQUEST_TIMEOUT_MS });

/** Creates `path`; returns its czxid. */
async function create(path: string, data = ''): Promise<bigint> {
  const res = await call('POST', `/v1/znodes${path}`, data);
  expect(res.status, `create ${path}: ${JSON.stringify(res.body)}`).toBe(201);
  return BigInt(res.body.stat.czxid);
}

/** Sets `path`'s data; returns its mzxid. */
async function setData(path: string, data = 'x'): Promise<bigint> {
  const res = await call('PUT', `/v1/znodes${path}`, data);
  expect(res.status, `setData ${path}: ${JSON.stringify(res.body)}`).toBe(200);
  return BigInt(res.body.stat.mzxid);
}

/** Deletes `path`; returns the zxid (only meaningful with no concurrent writes). */
async function remove(path: string): Promise<bigint> {
  const res = await call('DELETE', `/v1/znodes${path}`);
  expect(res.status, `delete ${path}: ${JSON.stringify(res.body)}`).toBe(204);
  return BigInt(res.headers.get('zk-zxid')!);
}

type Op = { op: 'create' | 'delete' | 'setData'; path: string; data?: string };

/** Applies a write multi; returns its zxid (only meaningful with no concurrent writes). */
async function multi(ops: Op[]): Promise<bigint> {
  const res = await call('POST', '/v1/multi', { ops });
  expect(res.status, `multi: ${JSON.stringify(res.body).slice(0, 500)}`).toBe(200);
  return BigInt(res.headers.get('zk-zxid')!);
}

/** The node's applied zxid now (no concurrent writes). */
async function currentZxid(): Promise<bigint> {
  const res = await call('GET', '/v1/znodes/');
  expect(res.status).toBe(200);
  return BigInt(res.headers.get('zk-zxid')!);
}

// ---- streams -------------------------------------------------------------------------------

interface Watched {
  readonly id: string;
  readonly type: string;
  readonly path: string;
  readonly zxid: bigint;
}

interface WatchOptions {
  readonly recursive?: boolean;
  readonly lastEventId?: string;
  readonly fromZxid?: bigint | string;
}

function watchUrl(path: string, options: WatchOptions): string {
  const query = new URLSearchParams();
  if (options.recursive !== undefined) query.set('recursive', String(options.recursive));
  if (options.fromZxid !== undefined) query.set('fromZxid', String(options.fromZxid));
  const q = query.size > 0 ? `?${query}` : '';
  return `${url()}/v1/watch${path === '/' ? '' : path}${q}`;
}

/** Opens a watch stream and waits (bounded) for `: connected`, so it is subscribed to live changes. */
async function watch(path: string, options: WatchOptions = {}): Promise<SseStream> {
  const controller = new AbortController();
  controllers.add(controller);
  const headers: Record<string, string> = {};
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const stream = await SseStream.open(watchUrl(path, options), { headers, controller });
  expect(stream.status, JSON.stringify(stream.errorBody)).toBe(200);
  await stream.until(() => stream.comments.some((c) => c.text === 'connected'), WAIT_MS, '": connected"');
  return stream;
}

/** One `event: watch` event as data; checks its id names its zxid. */
function toWatched(e: { readonly id: string | undefined; readonly data: string }): Watched {
  const data = JSON.parse(e.data) as { type: string; path: string; zxid: string };
  const m = /^(\d+)-(\d+)$/.exec(e.id ?? '');
  if (!m) throw new Error(`watch event id "${e.id}" is not <zxid>-<k>`);
  expect(m[1], `id ${e.id} names the event's zxid ${data.zxid}`).toBe(data.zxid);
  return { id: e.id!, type: data.type, path: data.path, zxid: BigInt(data.zxid) };
}

/** The stream's `event: watch` events so far. */
function watched(stream: SseStream): Watched[] {
  return stream.events.filter((e) => e.event === 'watch').map(toWatched);
}

/**
 * A stream whose body the test does not read until `start()`: the server's writes back up
 * (socket and stream buffers fill), so its replay is held up while the test writes.
 */
class HeldStream {
  readonly events: SseEvent[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  /** Why reading stopped, when it was not the end of the body: told when a wait fails. */
  private endedBy = 'the server ended the body';

  /**
   * Holds the Response, not only its body: undici cancels the body of a Response that is garbage
   * collected while nobody reads it, and a held stream is not read until start() (the body then
   * ends at once, with no event — the flake this test had).
   */
  private constructor(private readonly response: Response) {}

  static async open(path: string, options: WatchOptions): Promise<HeldStream> {
    const controller = new AbortController();
    controllers.add(controller);
    const res = await fetch(watchUrl(path, options), { signal: controller.signal });
    expect(res.status).toBe(200);
    return new HeldStream(res);
  }

  start(): void {
    void (async () => {
      try {
        for await (const e of readSse(this.response.body!)) {
          this.events.push(e);
          this.wake?.();
        }
      } catch (error) {
        this.endedBy = `reading failed: ${String(error)}`; // also when afterEach aborts it
      } finally {
        this.ended = true;
        this.wake?.();
      }
    })();
  }

  watched(): Watched[] {
    return this.events.filter((e) => e.event === 'watch').map(toWatched);
  }

  /** Waits (bounded) for an event at `zxid` or later. */
  untilZxid(zxid: bigint, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`timed out waiting for zxid ${zxid}; got ${this.events.length} events`)), timeoutMs);
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.wake = undefined;
        if (error) reject(error);
        else resolve();
      };
      this.wake = () => {
        const last = this.events.at(-1);
        if (last?.id && BigInt(last.id.split('-')[0]!) >= zxid) finish();
        else if (this.ended) {
          const tail = this.events.slice(-3).map((e) => `${e.event} ${e.id ?? ''}`).join(', ');
          finish(new Error(`the stream ended before zxid ${zxid} (${this.endedBy}; ${this.events.length} events, last: ${tail})`));
        }
      };
      this.wake();
    });
  }
}

const lines = (events: readonly Watched[]) => events.map((e) => `${e.type} ${e.path}`);
const ids = (events: readonly Watched[]) => events.map((e) => e.id);
const kOf = (id: string) => Number(id.split('-')[1]);

/**
 * Ids are unique and increase; k is 0 at a transaction's first event on this stream and counts
 * up by one (a stream resumed inside a transaction starts where it resumed: `midTxn`).
 */
function expectIdsInOrder(events: readonly Watched[], options: { midTxn?: boolean } = {}): void {
  expect(new Set(ids(events)).size, `no id twice: ${ids(events).join(' ')}`).toBe(events.length);
  for (let i = 0; i < events.length; i++) {
    const [prev, e] = [events[i - 1], events[i]!];
    const k = kOf(e.id);
    if (prev && prev.zxid === e.zxid) expect(k, `${prev.id} then ${e.id}`).toBe(kOf(prev.id) + 1);
    else if (i > 0 || !options.midTxn) expect(k, `${e.id} opens its transaction`).toBe(0);
    if (prev) expect(e.zxid >= prev.zxid, `${prev.id} then ${e.id}`).toBe(true);
  }
}

/** Waits (bounded) until the stream's watch events include one at zxid `zxid` or later. */
async function untilZxid(stream: SseStream, zxid: bigint, what: string, timeoutMs = WAIT_MS): Promise<Watched[]> {
  return stream.until(() => {
    const events = watched(stream);
    return events.some((e) => e.zxid >= zxid) && events;
  }, timeoutMs, what);
}

let sentinels = 0;
/**
 * Creates a fresh node under `parent` (which every stream in `streams` watches recursively) and
 * waits until each stream shows it: every event before it has arrived then. Returns its event.
 */
async function settle(parent: string, streams: readonly SseStream[]): Promise<Watched> {
  const path = `${parent === '/' ? '' : parent}/sentinel-${++sentinels}`;
  const zxid = await create(path);
  for (const stream of streams) await untilZxid(stream, zxid, `the sentinel ${path}`);
  const last = watched(streams[0]!).at(-1)!;
  expect(`${last.type} ${last.path}`).toBe(`NodeCreated ${path}`);
  return last;
}

const sameEvents = (events: readonly Watched[]) => events.map((e) => `${e.id} ${e.type} ${e.path}`);

describe('GET /v1/watch/{path}: which events', () => {
  it('answers 200 text/event-stream with Zk-Zxid and opens with ": connected", the path need not exist', async () => {
    await start();
    const stream = await watch('/not/there', { recursive: true });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('zk-zxid')).toMatch(/^\d+$/);
    expect(stream.events).toEqual([]);
  });

  it('recursive=false gets every event type on exactly that path, and none of its children\'s or neighbours\'', async () => {
    await start();
    const exact = await watch('/n', { recursive: false });
    const byDefault = await watch('/n'); // recursive defaults to false
    const want: string[] = [];
    const zxids: bigint[] = [];
    const expectEvent = (line: string, zxid: bigint) => { want.push(line); zxids.push(zxid); };

    expectEvent('NodeCreated /n', await create('/n', 'v0'));
    expectEvent('NodeChildrenChanged /n', await create('/n/c'));
    await create('/n/c/d'); // a grandchild: not on /n
    await setData('/n/c/d');
    expectEvent('NodeDataChanged /n', await setData('/n', 'v1'));
    await setData('/n/c'); // a child's data: not on /n
    await create('/nx'); // a neighbour sharing the prefix
    await setData('/nx');
    await remove('/n/c/d');
    expectEvent('NodeChildrenChanged /n', await remove('/n/c'));
    expectEvent('NodeDeleted /n', await remove('/n'));
    expectEvent('NodeCreated /n', await create('/n')); // the last one: everything before it is in

    for (const stream of [exact, byDefault]) {
      const events = await untilZxid(stream, zxids.at(-1)!, 'the last event on /n');
      expect(lines(events)).toEqual(want);
      expect(ids(events)).toEqual(zxids.map((z) => `${z}-0`));
      expectIdsInOrder(events);
    }
  });

  it('recursive=true gets NodeCreated/NodeDeleted/NodeDataChanged on the path and below, and no NodeChildrenChanged', async () => {
    await start();
    const tree = await watch('/r', { recursive: true });
    const root = await watch('/', { recursive: true });
    const want: string[] = [];
    const zxids: bigint[] = [];
    const expectEvent = (line: string, zxid: bigint) => { want.push(line); zxids.push(zxid); };
    const rootOnly: string[] = [];

    expectEvent('NodeCreated /r', await create('/r'));
    expectEvent('NodeCreated /r/a', await create('/r/a'));
    expectEvent('NodeCreated /r/a/b', await create('/r/a/b'));
    expectEvent('NodeDataChanged /r/a/b', await setData('/r/a/b'));
    expectEvent('NodeDataChanged /r', await setData('/r'));
    await create('/rx'); // a neighbour sharing the prefix: only the root stream sees it
    rootOnly.push('NodeCreated /rx');
    expectEvent('NodeDeleted /r/a/b', await remove('/r/a/b'));
    expectEvent('NodeDeleted /r/a', await remove('/r/a'));
    const last = await settle('/r', [tree, root]);

    const events = watched(tree);
    expect(lines(events)).toEqual([...want, `NodeCreated ${last.path}`]);
    expect(ids(events)).toEqual([...zxids.map((z) => `${z}-0`), last.id]);
    expectIdsInOrder(events);

    // The root stream sees every change (the neighbour too), still without NodeChildrenChanged.
    const all = watched(root);
    expect(lines(all)).toEqual([...want.slice(0, 5), ...rootOnly, ...want.slice(5), `NodeCreated ${last.path}`]);
    expectIdsInOrder(all);
  });

  it('sends a multi\'s events in op order under one zxid, k counting only this stream\'s events', async () => {
    await start();
    const recursive = await watch('/m', { recursive: true });
    const exact = await watch('/m', { recursive: false });
    const zxid = await multi([
      { op: 'create', path: '/m' },
      { op: 'create', path: '/m/a' },
      { op: 'create', path: '/other' }, // outside /m: in neither stream, and takes no k
      { op: 'create', path: '/m/b' },
      { op: 'setData', path: '/m/a', data: 'x' },
      { op: 'delete', path: '/m/b' },
    ]);
    const sentinel = await settle('/m', [recursive]);
    const second = await multi([ // deletes nothing: a gateway knows each of its nodes' ACLs
      { op: 'create', path: '/m/c' },
      { op: 'create', path: '/other2' },
      { op: 'setData', path: '/m/a', data: 'y' },
      { op: 'create', path: '/m/d' },
      { op: 'setData', path: '/m', data: 'y' },
    ]);
    const tail = await setData('/m', 'end');
    const onPath = await untilZxid(exact, tail, 'the last event on /m');
    // Events go out after the write's answer: each stream is waited for on its own.
    await untilZxid(recursive, tail, 'the last event under /m');

    const firstUnder = [
      `${zxid}-0 NodeCreated /m`, `${zxid}-1 NodeCreated /m/a`, `${zxid}-2 NodeCreated /m/b`,
      `${zxid}-3 NodeDataChanged /m/a`, `${zxid}-4 NodeDeleted /m/b`,
    ];
    const firstOn = [`${zxid}-0 NodeCreated /m`, `${zxid}-1 NodeChildrenChanged /m`, `${zxid}-2 NodeChildrenChanged /m`, `${zxid}-3 NodeChildrenChanged /m`];
    if (harness === 'gateway') {
      // /m/b was created and deleted by the multi before the gateway could read its ACL, so who
      // may hear of that burst is unknown: the streams that would have heard it get `reset`
      // (read state again) instead, dated at or after the multi (docs/security.md, docs/operations.md).
      for (const stream of [recursive, exact]) {
        const resets = stream.events.filter((e) => e.event === 'reset');
        expect(resets.length, stream.describe().slice(0, 300)).toBe(1);
        expect(stream.events[0]).toBe(resets[0]);
        const at = BigInt(JSON.parse(resets[0]!.data).zxid);
        expect(at >= zxid && at <= sentinel.zxid, `reset at ${at}, the multi at ${zxid}, the sentinel at ${sentinel.zxid}`).toBe(true);
      }
      firstUnder.length = 0;
      firstOn.length = 0;
    } else {
      expect([recursive, exact].flatMap((s) => s.events).filter((e) => e.event !== 'watch')).toEqual([]);
    }
    expect(sameEvents(watched(recursive))).toEqual([
      ...firstUnder,
      `${sentinel.id} NodeCreated ${sentinel.path}`,
      `${second}-0 NodeCreated /m/c`, `${second}-1 NodeDataChanged /m/a`, `${second}-2 NodeCreated /m/d`, `${second}-3 NodeDataChanged /m`,
      `${tail}-0 NodeDataChanged /m`,
    ]);
    expect(sameEvents(onPath)).toEqual([
      ...firstOn, `${sentinel.zxid}-0 NodeChildrenChanged /m`,
      `${second}-0 NodeChildrenChanged /m`, `${second}-1 NodeChildrenChanged /m`, `${second}-2 NodeDataChanged /m`,
      `${tail}-0 NodeDataChanged /m`,
    ]);
    expectIdsInOrder(watched(recursive));
    expectIdsInOrder(onPath);
  });
});

/**
 * A history under /q with single writes, multis and a write elsewhere; returns the live stream's
 * view. Its first multi creates /q/b/c and deletes it again; on a gateway it changes /q/b/c's
 * data instead (a burst with a node created and deleted by one multi is a `reset` there: the
 * multi test above).
 */
async function writeHistory(): Promise<{ reference: Watched[]; base: bigint; quiet: bigint }> {
  const base = await currentZxid();
  const live = await watch('/q', { recursive: true });
  const [inner, innerEvent]: [Op, string] = harness === 'gateway'
    ? [{ op: 'setData', path: '/q/b/c', data: '1' }, 'NodeDataChanged /q/b/c']
    : [{ op: 'delete', path: '/q/b/c' }, 'NodeDeleted /q/b/c'];
  await create('/q');
  await create('/q/a');
  await multi([
    { op: 'create', path: '/q/b' }, { op: 'setData', path: '/q/a', data: '1' }, { op: 'create', path: '/q/b/c' },
    inner, { op: 'setData', path: '/q', data: '1' },
  ]);
  const quiet = await create('/elsewhere'); // a transaction with no event for /q
  await setData('/q/a', '2');
  await multi([{ op: 'delete', path: '/q/a' }, { op: 'create', path: '/q/d' }]);
  await remove('/q/d');
  const last = await setData('/q', '2');
  const reference = await untilZxid(live, last, 'the history\'s last event');
  expect(lines(reference)).toEqual([
    'NodeCreated /q', 'NodeCreated /q/a',
    'NodeCreated /q/b', 'NodeDataChanged /q/a', 'NodeCreated /q/b/c', innerEvent, 'NodeDataChanged /q',
    'NodeDataChanged /q/a', 'NodeDeleted /q/a', 'NodeCreated /q/d', 'NodeDeleted /q/d', 'NodeDataChanged /q',
  ]);
  expectIdsInOrder(reference);
  return { reference, base, quiet };
}

describe('GET /v1/watch/{path}: resuming', () => {
  it('resumes after any Last-Event-ID with exactly what followed it, in the middle of a multi too', async () => {
    await start();
    const { reference } = await writeHistory();
    const resumed: Array<{ from: number; stream: SseStream }> = [];
    for (let i = 0; i < reference.length; i++) {
      resumed.push({ from: i, stream: await watch('/q', { recursive: true, lastEventId: reference[i]!.id }) });
    }
    const sentinel = await settle('/q', resumed.map((r) => r.stream));
    for (const { from, stream } of resumed) {
      const events = watched(stream);
      expect(sameEvents(events), `after ${reference[from]!.id}`).toEqual(sameEvents([...reference.slice(from + 1), sentinel]));
      expectIdsInOrder(events, { midTxn: true });
    }
    // Somewhere in the middle of the first multi (k = 0..4 share one zxid).
    expect(reference.slice(2, 7).map((e) => kOf(e.id))).toEqual([0, 1, 2, 3, 4]);
  });

  it('?fromZxid=Z replays every event after transaction Z, and Last-Event-ID wins over it', async () => {
    await start();
    const { reference, base, quiet } = await writeHistory();
    const points = [base, ...new Set(reference.map((e) => e.zxid)), quiet];
    const resumed: Array<{ from: bigint; stream: SseStream }> = [];
    for (const from of points) resumed.push({ from, stream: await watch('/q', { recursive: true, fromZxid: from }) });
    const both = await watch('/q', { recursive: true, fromZxid: base, lastEventId: reference[8]!.id });
    const sentinel = await settle('/q', [...resumed.map((r) => r.stream), both]);
    for (const { from, stream } of resumed) {
      const events = watched(stream);
      expect(sameEvents(events), `from zxid ${from}`).toEqual(sameEvents([...reference.filter((e) => e.zxid > from), sentinel]));
      expectIdsInOrder(events);
    }
    expect(sameEvents(watched(both))).toEqual(sameEvents([...reference.slice(9), sentinel]));
  });

  it('never splits a transaction across replay pages: multis larger than a page and ending past one', async () => {
    await start();
    await create('/big');
    const base = await currentZxid();
    const live = await watch('/big', { recursive: true });
    const creates = (prefix: string, n: number): Op[] => Array.from({ length: n }, (_, i) => ({ op: 'create', path: `/big/${prefix}${i}` }));
    // Each create is two history rows (NodeCreated, the parent's NodeChildrenChanged): the first
    // multi fills 800 of a 1000-row page, the second runs past it, the third is a page on its own.
    const first = await multi(creates('a', 400));
    const second = await multi(creates('b', 400));
    const third = await multi(creates('c', 600));
    await live.until(() => watched(live).length >= 1400 && true, 10_000, 'the three multis\' 1400 events');
    const all = watched(live);
    expect(all.length).toBe(1400);
    expectIdsInOrder(all);
    expect(all.map((e) => e.zxid)).toEqual([...Array(400).fill(first), ...Array(400).fill(second), ...Array(600).fill(third)]);

    const cases: Array<{ options: WatchOptions; after: number }> = [
      { options: { fromZxid: base }, after: -1 },
      { options: { lastEventId: `${first}-399` }, after: 399 },
      { options: { lastEventId: `${second}-250` }, after: 650 },
      { options: { lastEventId: `${third}-0` }, after: 800 },
      { options: { lastEventId: `${third}-598` }, after: 1398 },
    ];
    const streams: SseStream[] = [];
    for (const c of cases) streams.push(await watch('/big', { recursive: true, ...c.options }));
    const sentinel = await settle('/big', [live, ...streams]);
    cases.forEach((c, i) => {
      const events = watched(streams[i]!);
      const what = c.options.lastEventId ?? `fromZxid ${c.options.fromZxid}`;
      expect(events.length, what).toBe(1400 - (c.after + 1) + 1);
      expect(sameEvents(events), what).toEqual(sameEvents([...all.slice(c.after + 1), sentinel]));
    });
  });

  it('hands over from replay to live losing and repeating nothing while writes go on', { timeout: 45_000 }, async () => {
    await start();
    await create('/h');
    const base = await currentZxid();
    const live = await watch('/h', { recursive: true });
    // First 1000 history rows (a create is NodeCreated plus /h's NodeChildrenChanged): a replay
    // from `base` takes more than one page, and the writers' transactions land during it.
    const PRE = 500;
    await multi(Array.from({ length: PRE }, (_, i) => ({ op: 'create', path: `/h/pre${i}` })));
    const WRITERS = 4;
    const WRITES = 60;
    let writing = true;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; i < WRITES; i++) {
        if (i % 10 === 5) {
          // On a gateway the multi changes the node it creates rather than deleting it (see writeHistory).
          const last: Op = harness === 'gateway' ? { op: 'setData', path: `/h/m${w}-${i}`, data: 'x' } : { op: 'delete', path: `/h/m${w}-${i}` };
          await multi([{ op: 'create', path: `/h/m${w}-${i}` }, { op: 'setData', path: '/h', data: `${w}-${i}` }, last]);
        } else {
          await create(`/h/w${w}-${i}`);
        }
      }
    });
    const done = Promise.all(writers).finally(() => { writing = false; });
    // Connect again and again while the writers run: from the start, and from the newest event so
    // far. (A replay this small is sent at once; the held-up replays below widen the window.)
    const resumed: Array<{ after: string | undefined; stream: SseStream }> = [];
    for (let round = 0; round < 20 && writing; round++) {
      resumed.push({ after: undefined, stream: await watch('/h', { recursive: true, fromZxid: base }) });
      const newest = watched(live).at(-1);
      if (newest) resumed.push({ after: newest.id, stream: await watch('/h', { recursive: true, lastEventId: newest.id }) });
    }
    await done;
    expect(resumed.length, 'streams opened while the writers ran').toBeGreaterThan(4);
    const sentinel = await settle('/h', [live, ...resumed.map((r) => r.stream)]);
    const all = watched(live);
    // The first multi, 4 writers × (54 creates + 6 multis of 3 events) and the sentinel.
    expect(all.length).toBe(PRE + WRITERS * (WRITES - 6 + 6 * 3) + 1);
    expectIdsInOrder(all);
    expect(all.at(-1)).toEqual(sentinel);
    for (const { after, stream } of resumed) {
      const at = after === undefined ? -1 : all.findIndex((e) => e.id === after);
      if (after !== undefined) expect(at, `${after} is in the live stream`).toBeGreaterThanOrEqual(0);
      const from = at + 1;
      const events = watched(stream);
      expect(sameEvents(events), `resumed after ${after ?? `zxid ${base}`}`).toEqual(sameEvents(all.slice(from)));
    }
  });

  // About 6 MB of replay, more than the socket and stream buffers hold: while the test does not
  // read, the server waits inside its replay, and the writes land then. Spread over 8 pages of
  // history rows (a create is NodeCreated plus /h's NodeChildrenChanged), the writes are also in
  // a later page; within one page (< 1000 rows), they come only live. ZooKeeper refuses a request
  // over jute.maxbuffer (1 MB by default; docs/security.md, "Sizes"), so on a gateway the same
  // bytes come in twice as many multis of half the size (each about 0.75 MB).
  it.each(harness === 'gateway' ? [
    { shape: 'over 8 replay pages', multis: 8, creates: 500, nameChars: 1500 },
    { shape: 'within one replay page', multis: 8, creates: 50, nameChars: 15_000 },
  ] : [
    { shape: 'over 8 replay pages', multis: 4, creates: 1000, nameChars: 1500 },
    { shape: 'within one replay page', multis: 4, creates: 100, nameChars: 15_000 },
  ])('hands over losing and repeating nothing when writes land while a held-up replay is going on ($shape)', { timeout: 45_000 }, async ({ multis, creates, nameChars }) => {
    await start();
    await create('/h');
    const base = await currentZxid();
    const live = await watch('/h', { recursive: true });
    const name = 'n'.repeat(nameChars);
    for (let m = 0; m < multis; m++) await multi(Array.from({ length: creates }, (_, i) => ({ op: 'create', path: `/h/${m}-${i}-${name}` })));
    const held = await HeldStream.open('/h', { recursive: true, fromZxid: base });
    for (let i = 0; i < 10; i++) await create(`/h/held-${i}`); // while nothing is read
    await collectGarbage(); // an unread body whose Response is collected is cancelled by undici
    held.start();
    for (let i = 0; i < 30; i++) { // while the replay drains, and after
      if (i % 5 === 2) await multi([{ op: 'create', path: `/h/m-${i}` }, { op: 'setData', path: '/h', data: String(i) }]);
      else await create(`/h/during-${i}`);
    }
    const sentinel = await settle('/h', [live]);
    await held.untilZxid(sentinel.zxid, 20_000);
    const all = watched(live);
    expect(all.length).toBe(multis * creates + 10 + 24 + 6 * 2 + 1);
    expectIdsInOrder(all);
    expect(held.events.every((e) => e.event === 'watch')).toBe(true);
    const got = held.watched();
    expect(got.length, 'as many events as the live stream').toBe(all.length);
    expect(sameEvents(got)).toEqual(sameEvents(all));
  });

  // A gateway's history is in memory: after a restart the old positions are older than it, so
  // the resume is `reset` (docs/operations.md, "session-less /v1/watch resume"), never partial.
  it(harness === 'gateway'
    ? 'after a gateway restart an old Last-Event-ID or fromZxid gets event: reset, then what follows'
    : 'keeps its history across a restart: an old Last-Event-ID or fromZxid resumes exactly', async () => {
    await start();
    const { reference, base } = await writeHistory();
    await restart();
    const after = [0, 3, 6, reference.length - 1]; // 3: inside the first multi
    const streams: SseStream[] = [];
    for (const i of after) streams.push(await watch('/q', { recursive: true, lastEventId: reference[i]!.id }));
    const fromBase = await watch('/q', { recursive: true, fromZxid: base });
    const sentinel = await settle('/q', [...streams, fromBase]);
    expect(sentinel.zxid > reference.at(-1)!.zxid, 'zxids go on increasing after the restart').toBe(true);
    if (harness === 'gateway') {
      for (const stream of [...streams, fromBase]) {
        const [head, ...rest] = stream.events;
        expect(head?.event, stream.describe().slice(0, 300)).toBe('reset');
        expect(head?.id).toBeUndefined();
        const at = BigInt(JSON.parse(head!.data).zxid);
        expect(at >= reference.at(-1)!.zxid && at < sentinel.zxid, `reset at ${at}: past the old history, before the sentinel`).toBe(true);
        expect(rest.every((e) => e.event === 'watch')).toBe(true);
        expect(sameEvents(watched(stream))).toEqual(sameEvents([sentinel]));
      }
      return;
    }
    after.forEach((i, s) => {
      expect(sameEvents(watched(streams[s]!)), `after ${reference[i]!.id}`).toEqual(sameEvents([...reference.slice(i + 1), sentinel]));
    });
    expect(sameEvents(watched(fromBase))).toEqual(sameEvents([...reference, sentinel]));
  });

  it.each([
    ['Last-Event-ID', 'abc'],
    ['Last-Event-ID', '12'],
    ['Last-Event-ID', '12-x'],
    ['Last-Event-ID', '-1-0'],
    ['Last-Event-ID', '12-0-1'],
    ['fromZxid', 'abc'],
    ['fromZxid', '-1'],
    ['fromZxid', '1.5'],
    ['fromZxid', ''],
    ['fromZxid', '99999999999999999'],
    ['recursive', 'maybe'],
  ] as const)('answers 400 BADARGUMENTS to %s "%s"', async (name, value) => {
    await start();
    const headers: Record<string, string> = name === 'Last-Event-ID' ? { 'last-event-id': value } : {};
    const query = name === 'Last-Event-ID' ? '' : `?${name}=${encodeURIComponent(value)}`;
    const res = await fetch(`${url()}/v1/watch/a${query}`, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ code: 'BADARGUMENTS', zkCode: -8 });
  });
});

describe('GET /v1/watch/{path}: a resume point older than the retained history', () => {
  const RETAIN = 50;
  const WRITES_MAX = 1500;

  /**
   * Writes two-event multis under /t, one awaited after the other (one history flush each, and
   * the history trims every 256 flushes) until the history no longer holds the first of them.
   */
  async function trimHistory(): Promise<{ reference: Watched[]; base: bigint; first: bigint; floor: bigint }> {
    await multi([{ op: 'create', path: '/t' }, { op: 'create', path: '/t/a' }, { op: 'create', path: '/t/b' }]);
    const base = await currentZxid();
    const live = await watch('/t', { recursive: true });
    const pair = (i: number): Op[] => [{ op: 'setData', path: '/t/a', data: String(i) }, { op: 'setData', path: '/t/b', data: String(i) }];
    const first = await multi(pair(0));
    let writes = 1;
    while (server!.historyFloor() <= first && writes < WRITES_MAX) await multi(pair(writes++));
    expect(server!.historyFloor() > first, `the history was trimmed within ${WRITES_MAX} writes`).toBe(true);
    for (let i = 0; i < 5; i++) await multi(pair(writes++)); // and a few more after the trim
    const last = await currentZxid();
    const reference = await untilZxid(live, last, 'the last multi', 10_000);
    expect(reference.length).toBe(writes * 2);
    expectIdsInOrder(reference);
    // The floor once every write is in the history: a resume is reset to the floor it meets (a
    // gateway's history trims at every write past its bound, the embedded one every 256 flushes).
    const floor = server!.historyFloor();
    return { reference, base, first, floor };
  }

  it('sends event: reset first (no id, the floor zxid), then every event after the floor, then live', async () => {
    await start({ historyEventsMax: RETAIN });
    const { reference, base, first, floor } = await trimHistory();
    const kept = reference.filter((e) => e.zxid > floor);
    expect(kept.length).toBeGreaterThanOrEqual(RETAIN);
    expect(kept.length).toBeLessThan(reference.length);

    const byId = await watch('/t', { recursive: true, lastEventId: `${first}-0` });
    const byZxid = await watch('/t', { recursive: true, fromZxid: base });
    const atFloor = await watch('/t', { recursive: true, fromZxid: floor });
    const sentinel = await settle('/t', [byId, byZxid, atFloor]);

    for (const stream of [byId, byZxid]) {
      const [reset, ...rest] = stream.events;
      expect(reset?.event, stream.describe().slice(0, 300)).toBe('reset');
      expect(reset?.id).toBeUndefined();
      expect(JSON.parse(reset!.data)).toMatchObject({ zxid: String(floor), reason: expect.any(String) });
      expect(rest.every((e) => e.event === 'watch')).toBe(true);
      expect(sameEvents(watched(stream))).toEqual(sameEvents([...kept, sentinel]));
    }
    // Resuming right at the floor lost nothing: no reset.
    expect(atFloor.events.map((e) => e.event)).not.toContain('reset');
    expect(sameEvents(watched(atFloor))).toEqual(sameEvents([...kept, sentinel]));
  });

  // Retention drops whole transactions up to the floor, so `<floor>-0` of a two-event multi is a
  // resume point whose rest (`<floor>-1`) is gone: the stream must say so (reset), not skip it.
  it('does not silently skip the rest of a transaction the history trimmed: Last-Event-ID inside the floor\'s multi', async () => {
    await start({ historyEventsMax: RETAIN });
    const { reference, floor } = await trimHistory();
    const atFloor = reference.filter((e) => e.zxid === floor);
    expect(ids(atFloor)).toEqual([`${floor}-0`, `${floor}-1`]);
    const stream = await watch('/t', { recursive: true, lastEventId: `${floor}-0` });
    const sentinel = await settle('/t', [stream]);
    // Either the rest of that multi (`<floor>-1`) comes, or the stream says it cannot: reset first.
    const [head] = stream.events;
    if (head?.event === 'reset') {
      expect(JSON.parse(head.data)).toMatchObject({ zxid: String(floor) });
      expect(sameEvents(watched(stream))).toEqual(sameEvents([...reference.filter((e) => e.zxid > floor), sentinel]));
    } else {
      expect(sameEvents(watched(stream)), 'the rest of the floor\'s multi, or event: reset').toEqual(
        sameEvents([...reference.filter((e) => e.zxid > floor || e.id === `${floor}-1`), sentinel]),
      );
    }
  });
});

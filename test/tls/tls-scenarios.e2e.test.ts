/**
 * The representative part of the suite that runs with TLS on: the main znode, session, watch and
 * multi scenarios against a node serving HTTPS, once over HTTP/2 (one connection, every request
 * and stream multiplexed on it) and once over HTTP/1.1 (a connection per request). Both roads a
 * request can take are crossed: plain znode calls go by the direct path, session calls and
 * streams by the Hono app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir } from '../support/corral-process.ts';
import { H2Client, h1Request, TlsEventStream, type CallOptions, type TlsReply } from './tls-client.ts';
import { makeTestPki, startTlsNode, tlsConfigOf, type TestPki, type TlsNode } from './tls-fixture.ts';

interface Road {
  call(method: string, path: string, options?: CallOptions): Promise<TlsReply>;
  events(path: string, headers?: Record<string, string>): Promise<TlsEventStream>;
  close(): void;
}

let pki: TestPki;
let node: TlsNode;

beforeAll(async () => {
  pki = makeTestPki();
  node = await startTlsNode(tlsConfigOf(pki.pki));
});

afterAll(async () => {
  await node.close();
  removeDir(pki.dir);
});

const protocols = [
  {
    protocol: 'HTTP/2',
    async open(): Promise<Road> {
      const client = await H2Client.connect(node.url, pki.anonymous);
      return { call: (m, p, o) => client.request(m, p, o), events: (p, h) => client.events(p, h), close: () => client.close() };
    },
  },
  {
    protocol: 'HTTP/1.1',
    async open(): Promise<Road> {
      const streams = new Set<TlsEventStream>();
      return {
        call: (m, p, o) => h1Request(node.url, pki.anonymous, m, p, o),
        async events(p, h) {
          const stream = await TlsEventStream.overHttp1(node.url, pki.anonymous, p, h);
          streams.add(stream);
          return stream;
        },
        close: () => streams.forEach((s) => s.close()),
      };
    },
  },
] as const;

describe.each(protocols)('Corral over TLS with $protocol', ({ protocol, open }) => {
  let road: Road;
  const root = `/${protocol === 'HTTP/2' ? 'h2' : 'h1'}`;

  beforeAll(async () => {
    road = await open();
    expect((await road.call('POST', `/v1/znodes${root}`)).status).toBe(201);
  });

  afterAll(() => {
    road.close();
  });

  it('creates, reads, lists, updates and deletes znodes', async () => {
    const created = await road.call('POST', `/v1/znodes${root}/a`, { body: 'one' });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/v1/znodes${root}/a`);
    expect(created.headers['zk-zxid']).toMatch(/^\d+$/);
    expect((await road.call('GET', `/v1/znodes${root}/a`)).body).toMatchObject({ data: 'one', stat: { version: 0 } });
    expect((await road.call('GET', `/v1/children${root}`)).body).toMatchObject({ children: ['a'] });
    expect((await road.call('PUT', `/v1/znodes${root}/a?version=0`, { body: 'two' })).body).toMatchObject({ stat: { version: 1 } });
    expect((await road.call('PUT', `/v1/znodes${root}/a?version=0`, { body: 'three' })).body).toMatchObject({ code: 'BADVERSION' });
    expect((await road.call('GET', `/v1/stat${root}/a`)).body).toMatchObject({ stat: { version: 1, dataLength: 3 } });
    expect((await road.call('DELETE', `/v1/znodes${root}/a`)).status).toBe(204);
    expect((await road.call('GET', `/v1/znodes${root}/a`)).body).toMatchObject({ code: 'NONODE' });
  });

  it('applies a multi whole, and applies nothing of a failing one', async () => {
    const ops = [{ op: 'create', path: `${root}/m1`, data: 'x' }, { op: 'create', path: `${root}/m2` }];
    expect((await road.call('POST', '/v1/multi', { body: { ops } })).body).toMatchObject({ results: [{ op: 'create' }, { op: 'create' }] });
    const failing = [{ op: 'create', path: `${root}/m3` }, { op: 'delete', path: `${root}/missing` }];
    const failed = await road.call('POST', '/v1/multi', { body: { ops: failing } });
    expect(failed.status).toBe(404);
    expect(failed.body).toMatchObject({ code: 'NONODE', failedOp: 1 });
    expect((await road.call('GET', `/v1/znodes${root}/m3`)).status).toBe(404);
  });

  it('opens a session whose ephemeral node, watch events and resumed stream (Last-Event-ID) all work', async () => {
    const opened = await road.call('POST', '/v1/sessions', { body: { timeoutMs: 10_000 } });
    expect(opened.status).toBe(201);
    const session = opened.body as { id: string; token: string };
    const headers = { 'zk-session-id': session.id, 'zk-session-token': session.token };
    const eventsPath = `/v1/sessions/${session.id}/events?token=${encodeURIComponent(session.token)}`;
    const stream = await road.events(eventsPath);
    expect(stream.status).toBe(200);
    expect(String(stream.headers['content-type'])).toContain('text/event-stream');

    expect((await road.call('POST', `/v1/znodes${root}/eph?mode=ephemeral`, { headers })).status).toBe(201);
    expect((await road.call('GET', `/v1/znodes${root}/eph?watch=true`, { headers })).status).toBe(200);
    expect((await road.call('PUT', `/v1/znodes${root}/eph`, { body: 'changed' })).status).toBe(200);
    await stream.untilEvents(1);
    expect(stream.watchEvents()).toEqual([`NodeDataChanged ${root}/eph`]);
    const lastId = stream.events[0]!.id!;
    stream.close();

    // Missed while no stream was open: delivered once on the resumed stream, nothing twice.
    expect((await road.call('GET', `/v1/children${root}?watch=true`, { headers })).status).toBe(200);
    expect((await road.call('POST', `/v1/znodes${root}/sibling`)).status).toBe(201);
    const resumed = await road.events(eventsPath, { 'last-event-id': lastId });
    await resumed.untilEvents(1);
    expect(resumed.watchEvents()).toEqual([`NodeChildrenChanged ${root}`]);

    expect((await road.call('DELETE', `/v1/sessions/${session.id}`, { headers })).status).toBe(204);
    expect((await road.call('GET', `/v1/znodes${root}/eph`)).status).toBe(404);
    const closing = await resumed.untilEvents(2);
    expect(closing[1]).toMatchObject({ event: 'session' });
    expect(JSON.parse(closing[1]!.data)).toMatchObject({ state: 'closed' });
  });

  it('streams a recursive /v1/watch and resumes it after Last-Event-ID', async () => {
    const stream = await road.events(`/v1/watch${root}/w?recursive=true`);
    expect(stream.status).toBe(200);
    expect((await road.call('POST', `/v1/znodes${root}/w`)).status).toBe(201);
    expect((await road.call('POST', `/v1/znodes${root}/w/1`)).status).toBe(201);
    await stream.untilEvents(2);
    expect(stream.watchEvents()).toEqual([`NodeCreated ${root}/w`, `NodeCreated ${root}/w/1`]);
    const lastId = stream.events[0]!.id!;
    stream.close();
    const resumed = await road.events(`/v1/watch${root}/w?recursive=true`, { 'last-event-id': lastId });
    await resumed.untilEvents(1);
    expect((await road.call('DELETE', `/v1/znodes${root}/w/1`)).status).toBe(204);
    await resumed.untilEvents(2);
    expect(resumed.watchEvents()).toEqual([`NodeCreated ${root}/w/1`, `NodeDeleted ${root}/w/1`]);
    resumed.close();
  });
});

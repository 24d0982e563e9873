// Limits per caller on a real server (src/http/limits/): one abusive caller (127.0.0.1, anonymous
// or with made-up Basic credentials) takes its sessions, event streams and connections up to
// its limits and past them, and is refused with 429 THROTTLEDOP and Retry-After (a connection:
// answered, then closed), each refusal counted in corral_limit_refusals_total by limit; meanwhile
// another caller (127.0.0.2) opens sessions and streams and writes as if nothing happened.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, waitFor } from '../support/corral-process.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { LimitsClient, readUntilClosed, type Answer } from './limits-client.ts';

const ABUSER = '127.0.0.1';
const OTHER = '127.0.0.2';
const SESSIONS = 3;
const STREAMS = 2;
const CONNECTIONS = 8;

let server: RunningServer;
let dataDir: string;
let client: LimitsClient;

beforeAll(async () => {
  dataDir = makeTempDir('corral-limits-');
  server = await startServer({
    dataDir, port: 0, host: '127.0.0.1', tickTimeMs: 500,
    maxSessionsPerCaller: SESSIONS, maxStreamsPerCaller: STREAMS, maxConnectionsPerAddress: CONNECTIONS,
  });
  client = new LimitsClient(server.url);
});
afterEach(() => client.closeAll());
afterAll(async () => {
  await server?.close();
  removeDir(dataDir);
});

const basic = (user: string) => ({ authorization: `Basic ${Buffer.from(`${user}:secret`).toString('base64')}` });

function expectThrottled(answer: Answer): void {
  expect(answer.status).toBe(429);
  expect(answer.body).toMatchObject({ code: 'THROTTLEDOP' });
  expect(answer.headers['retry-after']).toMatch(/^\d+$/);
}

async function openSession(from: string, headers: Record<string, string> = {}): Promise<Answer> {
  return client.send('POST', '/v1/sessions', { from, headers, body: { timeoutMs: 4000 } });
}

describe('sessions per caller', () => {
  it('refuses a caller\'s sessions past maxSessionsPerCaller with 429, while another caller opens and writes', async () => {
    const before = await client.refusals('sessions_per_caller');
    const burst = await Promise.all(Array.from({ length: 2 * SESSIONS }, () => openSession(ABUSER)));
    expect(burst.filter((a) => a.status === 201)).toHaveLength(SESSIONS);
    for (const refused of burst.filter((a) => a.status !== 201)) expectThrottled(refused);
    // Made-up Basic credentials are new digest identities, not new callers: the address still counts.
    expectThrottled(await openSession(ABUSER, basic('mallory-1')));
    expectThrottled(await openSession(ABUSER, basic('mallory-2')));
    expect(await client.refusals('sessions_per_caller')).toBe(before + SESSIONS + 2);

    const other = await openSession(OTHER);
    expect(other.status).toBe(201);
    const s = other.body as { id: string; token: string };
    const write = await client.send('POST', '/v1/znodes/other-eph?mode=ephemeral', {
      from: OTHER, headers: { 'zk-session-id': s.id, 'zk-session-token': s.token }, body: 'x',
    });
    expect(write.status).toBe(201);

    // Closing one of the abuser's sessions makes room for exactly one more.
    const mine = burst.find((a) => a.status === 201)!.body as { id: string; token: string };
    expect((await client.send('DELETE', `/v1/sessions/${mine.id}`, { from: ABUSER, headers: { 'zk-session-id': mine.id, 'zk-session-token': mine.token } })).status).toBe(204);
    expect((await openSession(ABUSER)).status).toBe(201);
    expectThrottled(await openSession(ABUSER));
  });
});

describe('event streams per caller', () => {
  it('refuses a caller\'s streams (session and /v1/watch) past maxStreamsPerCaller, and takes one again once a stream ends', async () => {
    const before = await client.refusals('streams_per_caller');
    const held = [await client.stream('/v1/watch/a?recursive=true', { from: ABUSER }), await client.stream('/v1/watch/b', { from: ABUSER })];
    for (const s of held) expect(s.status).toBe(200);
    const refused = await client.stream('/v1/watch/c', { from: ABUSER });
    expectThrottled(refused);

    // The other caller's stream opens and hears a write.
    const theirs = await client.stream('/v1/watch/o', { from: OTHER });
    expect(theirs.status).toBe(200);
    expect((await client.send('POST', '/v1/znodes/o', { from: OTHER, body: 'x' })).status).toBe(201);
    await waitFor(() => theirs.text().includes('"NodeCreated"'), { timeoutMs: 5000, what: 'the other caller\'s event' });
    expect(await client.refusals('streams_per_caller')).toBe(before + 1);

    held[0]!.close();
    const again = await waitFor(async () => {
      const attempt = await client.stream('/v1/watch/c', { from: ABUSER });
      if (attempt.status === 200) return attempt;
      attempt.close();
      return false;
    }, { timeoutMs: 5000, what: 'a stream slot to be free' });
    expect(again.status).toBe(200);
  });

  it('counts a session\'s event stream against its caller, and a reconnect of the same session does not add one', async () => {
    const opened = await client.send('POST', '/v1/sessions', { from: OTHER, body: { timeoutMs: 4000 } });
    expect(opened.status).toBe(201);
    const s = opened.body as { id: string; token: string };
    const headers = { 'zk-session-id': s.id, 'zk-session-token': s.token };
    const first = await client.stream(`/v1/sessions/${s.id}/events`, { from: OTHER, headers });
    const watch = await client.stream('/v1/watch/x', { from: OTHER });
    expect([first.status, watch.status]).toEqual([200, 200]);
    expectThrottled(await client.stream('/v1/watch/y', { from: OTHER }));
    // The same session's stream again replaces the first: the caller is at its limit, and still gets it.
    const reconnect = await client.stream(`/v1/sessions/${s.id}/events`, { from: OTHER, headers });
    expect(reconnect.status).toBe(200);
  });
});

describe('connections per address', () => {
  it('answers a connection past maxConnectionsPerAddress with 429 and closes it, while another address connects', async () => {
    const before = await client.refusals('connections_per_address', OTHER);
    const held = await Promise.all(Array.from({ length: CONNECTIONS }, () => client.connection(ABUSER)));
    // Accepted in the order they connected: the server has counted the eight before it sees this one.
    const extra = await client.connection(ABUSER);
    extra.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const answer = await readUntilClosed(extra);
    expect(answer).toMatch(/^HTTP\/1\.1 429 /);
    expect(answer).toMatch(/\r\nRetry-After: \d+\r\n/i);
    expect(answer).toContain('"THROTTLEDOP"');
    expect(await client.refusals('connections_per_address', OTHER)).toBe(before + 1);

    const fromOther = await client.send('GET', '/v1/znodes', { from: OTHER });
    expect(fromOther.status).toBe(200);
    expect((await client.send('POST', '/v1/znodes/conn-other', { from: OTHER, body: 'x' })).status).toBe(201);

    held[0]!.destroy();
    const ok = await waitFor(async () => {
      const attempt = await client.send('GET', '/healthz', { from: ABUSER }).catch(() => undefined);
      return attempt?.status === 200 && attempt;
    }, { timeoutMs: 5000, what: 'a connection slot to be free' });
    expect(ok.status).toBe(200);
  });
});

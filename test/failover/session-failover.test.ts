/**
 * Sessions survive the loss of their node: watches are replicated state and every member keeps
 * every session's stream alike (same events, same ids), so a client moves its keepalives and its
 * stream to another member and resumes with Last-Event-ID, losing and repeating nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/corral-process.ts';
import { startInProcessCluster, type InProcessCluster } from '../support/inprocess-cluster.ts';
import { SseStream } from '../http/sse-reader.ts';

let cluster: InProcessCluster | undefined;
const streams: SseStream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.abort();
  await cluster?.close();
  cluster = undefined;
});

interface Session { id: string; token: string }

async function send(url: string, method: string, path: string, options: { body?: string; session?: Session } = {}) {
  const headers: Record<string, string> = {};
  if (options.session) Object.assign(headers, { 'zk-session-id': options.session.id, 'zk-session-token': options.session.token });
  const res = await fetch(url + path, { method, headers, body: options.body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, body: text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text };
}

async function openStream(url: string, s: Session, lastEventId?: string): Promise<SseStream> {
  const headers: Record<string, string> = { 'zk-session-token': s.token };
  if (lastEventId) headers['last-event-id'] = lastEventId;
  const stream = await SseStream.open(`${url}/v1/sessions/${s.id}/events`, { headers, controller: new AbortController() });
  streams.push(stream);
  return stream;
}

const ids = (stream: SseStream) => stream.events.filter((e) => e.event === 'watch').map((e) => e.id!);

describe('a session across members', () => {
  it('keeps its watches, and its stream resumes on another member with nothing lost or repeated', { timeout: 60_000 }, async () => {
    cluster = await startInProcessCluster(3);
    const leader = await cluster.leader();
    const [a, b] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    const atA = cluster.urls[a - 1]!;
    const atB = cluster.urls[b - 1]!;
    const opened = await send(atA, 'POST', '/v1/sessions', { body: JSON.stringify({ timeoutMs: 6000 }) });
    expect(opened.status).toBe(201);
    const s: Session = opened.body;
    expect((await send(atA, 'POST', '/v1/znodes/app', { body: '' })).status).toBe(201);
    // A one-shot watch set through member a, and a persistent recursive one.
    expect((await send(atA, 'GET', '/v1/znodes/app?watch=true', { session: s })).status).toBe(200);
    expect((await send(atA, 'POST', `/v1/sessions/${s.id}/watches`, { session: s, body: JSON.stringify({ path: '/app', mode: 'persistent_recursive' }) })).status).toBe(201);

    const first = await openStream(atA, s);
    expect((await send(atA, 'PUT', '/v1/znodes/app', { body: 'one' })).status).toBe(200);
    await first.until(() => ids(first).length >= 1, 5000, 'the first event on member a');
    const resumeAfter = ids(first).at(-1)!;
    first.abort();

    // Member a goes away; changes keep coming through the leader.
    await cluster.stop(a);
    const atLeader = cluster.urls[leader - 1]!;
    expect((await send(atLeader, 'POST', '/v1/znodes/app/child', { body: '' })).status).toBe(201);
    expect((await send(atLeader, 'PUT', '/v1/znodes/app', { body: 'two' })).status).toBe(200);

    // The client resumes on member b: exactly the events after the last one it saw.
    const resumed = await openStream(atB, s, resumeAfter);
    const events = await resumed.until(() => (resumed.watchEvents().length >= 2 ? resumed.watchEvents() : undefined), 5000, 'the events after the resume point');
    expect(events).toEqual(['NodeCreated /app/child', 'NodeDataChanged /app']);
    expect(ids(resumed).every((id) => id !== resumeAfter)).toBe(true);

    // The same stream from the start on the leader has the same ids for the same events.
    const fromStart = await openStream(atLeader, s);
    await fromStart.until(() => ids(fromStart).length >= 3, 5000, 'the whole stream on the leader');
    expect(ids(fromStart)).toEqual([resumeAfter, ...ids(resumed)]);
  });

  it('stays open while its client only keeps a stream open on a follower', { timeout: 60_000 }, async () => {
    cluster = await startInProcessCluster(3, { tickTimeMs: 200 });
    const leader = await cluster.leader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const at = cluster.urls[follower - 1]!;
    const opened = await send(at, 'POST', '/v1/sessions', { body: JSON.stringify({ timeoutMs: 800 }) });
    const s: Session = opened.body;
    expect((await send(at, 'POST', '/v1/znodes/mine?mode=ephemeral', { session: s, body: '' })).status).toBe(201);
    const stream = await openStream(at, s);
    // Three timeouts later (18 stream heartbeats, one every timeout/6) it is still there: the
    // follower relays that it hears from the client.
    await stream.until(() => stream.comments.length >= 18, 10_000, 'three session timeouts of heartbeats');
    expect((await send(cluster.urls[leader - 1]!, 'GET', '/v1/znodes/mine')).status).toBe(200);
    // Once the client is gone, the leader expires it and its ephemeral goes.
    stream.abort();
    await waitFor(async () => (await send(cluster!.urls[leader - 1]!, 'GET', '/v1/znodes/mine')).status === 404,
      { timeoutMs: 5000, what: 'the ephemeral of the departed client to go' });
  });
});

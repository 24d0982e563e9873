/**
 * Writes sent to a follower travel to the leader over the peer link as typed proposals and come
 * back with the same answer the leader gives its own clients, once the follower has applied them; when the leader is lost with a write
 * in flight the client gets CONNECTIONLOSS (the outcome is unknown), and a retry with the same
 * Zk-Request-Id is applied once.
 */
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProposalOutcome } from '../../src/node/pipeline/proposal.ts';
import { waitFor } from '../support/corral-process.ts';
import { startInProcessCluster, type InProcessCluster } from '../support/inprocess-cluster.ts';

let cluster: InProcessCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** Below the follower's own 10 s wait for the leader: a request that would hang until then fails the test instead. */
const CLIENT_TIMEOUT_MS = 8000;

async function send(url: string, method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(url + path, { method, headers: options.headers, body: options.body, signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** POST with the target exactly as given (fetch would resolve `..` before sending). */
function postRaw(base: string, target: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method: 'POST', path: target, timeout: CLIENT_TIMEOUT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve(text));
    });
    req.on('timeout', () => req.destroy(new Error('timed out'))).on('error', reject).end();
  });
}

describe('a write sent to a follower', () => {
  it('is answered with what the leader answers, errors included', { timeout: 60_000 }, async () => {
    cluster = await startInProcessCluster(3);
    const leader = await cluster.leader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const [atLeader, atFollower] = [cluster.urls[leader - 1]!, cluster.urls[follower - 1]!];
    const created = await send(atFollower, 'POST', '/v1/znodes/fw', { body: 'v0' });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/znodes/fw');
    expect(JSON.parse(created.text)).toMatchObject({ path: '/fw', stat: { version: 0 } });

    const here = await send(atFollower, 'PUT', '/v1/znodes/fw?version=5', { body: 'x' });
    const there = await send(atLeader, 'PUT', '/v1/znodes/fw?version=5', { body: 'x' });
    expect(here.status).toBe(409);
    expect(JSON.parse(here.text)).toMatchObject({ code: 'BADVERSION', path: '/fw' });
    expect(here.text).toBe(there.text);
    expect(here.headers.get('content-type')).toBe(there.headers.get('content-type'));

    // A path ZooKeeper's rules refuse (an empty name), and a binary body, arrive as sent.
    const empty = await postRaw(atFollower, '/v1/znodes/fw//x');
    expect(JSON.parse(empty)).toMatchObject({ code: 'BADARGUMENTS', path: '/fw//x' });
    const binary = await fetch(`${atFollower}/v1/znodes/fw`, { method: 'PUT', body: new Uint8Array([0, 255, 1]), signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
    expect(binary.status).toBe(200);
    expect(binary.headers.get('etag')).toBe('"1"');
    expect([...cluster.servers[leader - 1]!.node.host.tree.get('/fw')!.data]).toEqual([0, 255, 1]);
    // A read that sets a watch is a write too: its binary answer comes back as the leader gave it.
    const session = JSON.parse((await send(atFollower, 'POST', '/v1/sessions', { body: JSON.stringify({ timeoutMs: 10_000 }) })).text);
    const watched = await fetch(`${atFollower}/v1/znodes/fw?watch=true`, {
      headers: { accept: 'application/octet-stream', 'zk-session-id': session.id, 'zk-session-token': session.token },
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    expect(watched.status).toBe(200);
    expect([...new Uint8Array(await watched.arrayBuffer())]).toEqual([0, 255, 1]);
  });

  it('gets the leader\'s own answer, byte for byte, for each way a plain znode write can fail', { timeout: 60_000 }, async () => {
    cluster = await startInProcessCluster(3);
    const leader = await cluster.leader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const [atLeader, atFollower] = [cluster.urls[leader - 1]!, cluster.urls[follower - 1]!];
    expect((await send(atLeader, 'POST', '/v1/znodes/p')).status).toBe(201);
    expect((await send(atLeader, 'POST', '/v1/znodes/p/c')).status).toBe(201);
    const { maxDataBytes } = cluster.servers[leader - 1]!.node.config;
    const failing: Array<[string, string, string | undefined]> = [
      ['POST', '/v1/znodes/p', undefined], // NODEEXISTS
      ['POST', '/v1/znodes/none/c', undefined], // NONODE
      ['POST', '/v1/znodes/p/x?mode=bogus', undefined],
      ['POST', '/v1/znodes/p/x?mode=persistent_with_ttl&ttl=-1', undefined],
      ['PUT', '/v1/znodes/none', 'x'],
      ['PUT', '/v1/znodes/p?version=7', 'x'],
      ['PUT', '/v1/znodes/p?version=x', 'x'],
      ['PUT', '/v1/znodes/p', 'x'.repeat(maxDataBytes + 1)],
      ['DELETE', '/v1/znodes/p', undefined], // NOTEMPTY
      ['DELETE', '/v1/znodes/p/c?version=3', undefined],
      ['DELETE', '/v1/znodes/zookeeper', undefined],
    ];
    for (const [method, path, body] of failing) {
      const [here, there] = [await send(atFollower, method, path, { body }), await send(atLeader, method, path, { body })];
      expect({ method, path, status: here.status, text: here.text }).toEqual({ method, path, status: there.status, text: there.text });
      expect(here.status).toBeGreaterThanOrEqual(400);
      for (const name of ['content-type', 'retry-after', 'etag']) expect(here.headers.get(name)).toBe(there.headers.get(name));
      expect(Number(here.headers.get('zk-zxid'))).toBeGreaterThan(0);
    }
  });

  it('answers a plain write that succeeds with the headers and body the leader answers, and a Zk-Zxid that covers it', { timeout: 60_000 }, async () => {
    cluster = await startInProcessCluster(3);
    const leader = await cluster.leader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const atFollower = cluster.urls[follower - 1]!;
    const created = await send(atFollower, 'POST', '/v1/znodes/caf%C3%A9?mode=persistent_sequential', { body: 'v0' });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/znodes/caf%C3%A90000000000');
    expect(JSON.parse(created.text)).toMatchObject({ path: '/café0000000000', stat: { dataLength: 2, version: 0 } });
    const set = await send(atFollower, 'PUT', '/v1/znodes/caf%C3%A90000000000', { body: 'v1', headers: { 'if-match': '"0"' } });
    expect([set.status, set.headers.get('etag'), set.headers.get('content-type')]).toEqual([200, '"1"', 'application/json']);
    const zxid = Number(set.headers.get('zk-zxid'));
    expect(JSON.parse(set.text).stat.mzxid).toBe(String(zxid));
    const read = await send(atFollower, 'GET', '/v1/znodes/caf%C3%A90000000000');
    expect(JSON.parse(read.text)).toMatchObject({ data: 'v1', stat: { version: 1 } });
    const removed = await send(atFollower, 'DELETE', '/v1/znodes/caf%C3%A90000000000?version=1');
    expect([removed.status, removed.text]).toEqual([204, '']);
  });

  it('is answered only once the follower has applied it', { timeout: 60_000 }, async () => {
    cluster = await startInProcessCluster(3);
    const leader = await cluster.leader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const atFollower = cluster.urls[follower - 1]!;
    const { host, pipeline } = cluster.servers[follower - 1]!.node;
    expect((await send(atFollower, 'POST', '/v1/znodes/ryw', { body: 'v0' })).status).toBe(201);
    // The follower hears of each commit only after the leader's answer is in (its Raft messages are
    // held until then), so an answer relayed without waiting would beat the apply.
    const held: Parameters<typeof host.receive>[0][] = [];
    let holding = false;
    const receive = host.receive.bind(host);
    host.receive = (message) => (holding ? void held.push(message) : receive(message));
    const answered = pipeline.receivedAnswer.bind(pipeline);
    pipeline.receivedAnswer = (from, id, outcome) => {
      answered(from, id, outcome);
      setImmediate(() => {
        holding = false;
        for (const message of held.splice(0)) receive(message);
      });
    };
    for (let i = 1; i <= 5; i++) {
      holding = true;
      const write = await send(atFollower, 'PUT', '/v1/znodes/ryw', { body: `v${i}` });
      expect(write.status).toBe(200);
      const mzxid = Number(JSON.parse(write.text).stat.mzxid);
      expect(host.appliedZxid).toBeGreaterThanOrEqual(mzxid);
      expect(Buffer.from(host.tree.get('/ryw')!.data).toString()).toBe(`v${i}`);
      expect(Number(write.headers.get('zk-zxid'))).toBeGreaterThanOrEqual(mzxid);
    }
  });

  it('answers CONNECTIONLOSS when the leader is lost before its answer comes back, and a retry with its request id is applied once',
    { timeout: 60_000 }, async () => {
      cluster = await startInProcessCluster(3);
      const leader = await cluster.leader();
      const [a, b] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
      expect((await send(cluster.urls[a - 1]!, 'POST', '/v1/znodes/jobs', { body: '' })).status).toBe(201);
      // The leader applies the write and answers, but the answer never leaves it.
      const answered: ProposalOutcome[] = [];
      const peers = cluster.servers[leader - 1]!.node.peers;
      peers.sendAnswer = (_to, _id, outcome) => void answered.push(outcome);
      const headers = { 'zk-request-id': 'forwarded-retry-1' };
      const first = send(cluster.urls[a - 1]!, 'POST', '/v1/znodes/jobs/job-?mode=persistent_sequential', { body: 'w', headers });
      await waitFor(() => answered.length === 1, { timeoutMs: 10_000, what: 'the leader to apply the forwarded write' });
      await cluster.stop(leader);

      const lost = await first;
      expect(lost.status).toBe(503);
      expect(lost.headers.get('retry-after')).toBeTruthy();
      const error = JSON.parse(lost.text);
      expect(error.code).toBe('CONNECTIONLOSS');
      expect(error.message).toMatch(/may or may not be applied/);
      expect(error.message).not.toMatch(/in time/);

      await cluster.leader();
      const retried = await send(cluster.urls[b - 1]!, 'POST', '/v1/znodes/jobs/job-?mode=persistent_sequential', { body: 'w', headers });
      expect(retried.status).toBe(201);
      const outcome = answered[0]!;
      const original = outcome.ok && outcome.result && 'results' in outcome.result ? outcome.result.results[0] : undefined;
      if (!original || !('path' in original)) throw new Error(`the leader answered ${JSON.stringify(outcome)}`);
      expect(JSON.parse(retried.text).path).toBe(original.path);
      const children = await send(cluster.urls[b - 1]!, 'GET', '/v1/children/jobs');
      expect(JSON.parse(children.text).children).toEqual([original.path.split('/').pop()]);
    });
});

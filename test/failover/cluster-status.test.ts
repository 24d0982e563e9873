/**
 * What a cluster tells its operators and clients: /v1/cluster and /readyz on every member, the
 * replication metrics, and prompt 503s with Retry-After when there is no quorum.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startInProcessCluster, type InProcessCluster } from '../support/inprocess-cluster.ts';
import { validateResponse } from '../support/openapi.ts';

let cluster: InProcessCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function get(url: string, init: RequestInit = {}) {
  const started = Date.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text;
  return { status: res.status, headers: res.headers, body: json, ms: Date.now() - started };
}

describe('cluster status', () => {
  it('shows every member\'s view: the same leader and epoch, the leader\'s lag figures, links up', { timeout: 60_000 }, async () => {
    cluster = await startInProcessCluster(3);
    const leader = await cluster.leader();
    expect((await get(`${cluster.urls[leader - 1]}/v1/znodes/s`, { method: 'POST', body: '' })).status).toBe(201);
    for (let id = 1; id <= 3; id++) {
      const res = await get(`${cluster.urls[id - 1]}/v1/cluster`);
      expect(res.status).toBe(200);
      validateResponse('GET', '/v1/cluster', res.status, res.headers, res.body);
      expect(res.body).toMatchObject({ self: id, role: id === leader ? 'leader' : 'follower', leader });
      expect(res.body.members).toHaveLength(3);
      expect(res.body.members.every((m: { connected: boolean }) => m.connected)).toBe(true);
      const onLeader = res.body.members.map((m: { lag: number | null }) => m.lag);
      if (id === leader) expect(onLeader.every((lag: number | null) => typeof lag === 'number')).toBe(true);
      expect((await get(`${cluster.urls[id - 1]}/readyz`)).status).toBe(200);
    }
    const metrics = (await get(`${cluster.urls[leader - 1]}/metrics`)).body as string;
    expect(metrics).toContain('corral_raft_role{role="leader"} 1');
    expect(metrics).toMatch(/corral_raft_follower_lag_entries\{peer="\d"\} \d+/);
    expect(metrics).toMatch(/corral_peer_connected\{peer="\d"\} 1/);
    expect(metrics).toMatch(/corral_raft_term [1-9]/);
  });

  it('answers writes, keepalives and linearizable reads with a prompt 503 and Retry-After without a quorum', { timeout: 60_000 }, async () => {
    cluster = await startInProcessCluster(3);
    const leader = await cluster.leader();
    const last = [1, 2, 3].find((id) => id !== leader)!;
    const at = cluster.urls[last - 1]!;
    const opened = await get(`${at}/v1/sessions`, { method: 'POST', body: JSON.stringify({ timeoutMs: 10_000 }) });
    expect(opened.status).toBe(201);
    for (const id of [1, 2, 3].filter((m) => m !== last)) await cluster.stop(id);
    const session = { 'zk-session-id': opened.body.id, 'zk-session-token': opened.body.token };
    const attempts = [
      await get(`${at}/v1/znodes/nope`, { method: 'POST', body: '' }),
      await get(`${at}/v1/sessions/${opened.body.id}/keepalive`, { method: 'POST', headers: session }),
      await get(`${at}/v1/znodes/s?consistency=linearizable`),
      await get(`${at}/v1/sync`, { method: 'POST' }),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect(['CONNECTIONLOSS', 'OPERATIONTIMEOUT']).toContain(res.body.code);
      // Bounded by the node's wait (Zk-Min-Zxid's, 2 s by default), never hanging.
      expect(res.ms).toBeLessThan(5000);
    }
    // Plain reads still answer from the member's tree, and it says it is not ready.
    expect((await get(`${at}/v1/znodes/`)).status).toBe(200);
    expect((await get(`${at}/readyz`)).status).toBe(503);
  });
});

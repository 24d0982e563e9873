/**
 * The client through a real leader election (three processes at the default consensus tick,
 * where an election takes 1–2 s): a write sent while the leader is gone lands once a new leader
 * is elected; with no quorum left, the final error is the 503's own code and message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralClient, CorralError } from '../../src/client/index.ts';
import { CorralCluster } from '../support/corral-cluster.ts';

let cluster: CorralCluster;

beforeAll(async () => {
  cluster = await CorralCluster.start({ size: 3, raftTickMs: 100 });
}, 90_000);
afterAll(async () => {
  await cluster?.close();
});

/** A fetch that records what each attempt got, to show the client really went through the election. */
function recordingFetch(outcomes: string[]): typeof fetch {
  return async (input, init) => {
    try {
      const response = await fetch(input, init);
      outcomes.push(String(response.status));
      return response;
    } catch (error) {
      outcomes.push('unreachable');
      throw error;
    }
  };
}

describe('CorralClient failover through a leader election', () => {
  it('lands a write sent right after the leader dies, once a new leader is elected', async () => {
    const leader = await cluster.leader();
    const others = cluster.ids.filter((id) => id !== leader);
    const outcomes: string[] = [];
    const client = new CorralClient({ urls: [leader, ...others].map((id) => cluster.url(id)), fetch: recordingFetch(outcomes) });
    await client.create('/before-election', 'a');
    await cluster.kill(leader);
    outcomes.length = 0;
    const started = Date.now();
    expect(await client.create('/after-election', 'b')).toBe('/after-election');
    const tookMs = Date.now() - started;
    // The dead leader refused; then a follower answered 503 while it had no leader, or held the
    // write until the new leader took it (which of the two is a matter of timing): either way the
    // write landed only after the election, well past the old ~300 ms budget.
    expect(outcomes[0]).toBe('unreachable');
    expect(outcomes.at(-1)).toBe('201');
    expect(outcomes.slice(1, -1).every((o) => o === '503' || o === 'unreachable'), outcomes.join(' ')).toBe(true);
    expect(tookMs).toBeGreaterThan(300);
    expect(await client.getData('/after-election', { as: 'string' })).toMatchObject({ data: 'b' });
    expect(await client.getData('/before-election', { as: 'string' })).toMatchObject({ data: 'a' });
    expect(client.baseUrl).not.toBe(cluster.url(leader));
  }, 30_000);

  it('gives up after retryForMs with no quorum, with the 503\'s code and message as the error', async () => {
    const [survivor, ...rest] = cluster.liveIds;
    for (const id of rest) await cluster.kill(id);
    // What the nodes last said, to compare with what the client reports.
    const answers: Array<Promise<{ code: string; message: string }>> = [];
    const keepingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (response.status === 503) answers.push(response.clone().json() as Promise<{ code: string; message: string }>);
      return response;
    };
    const client = new CorralClient({ urls: cluster.urls, retryForMs: 1500, fetch: keepingFetch });
    const started = Date.now();
    const error = await client.create('/no-quorum', 'x').catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(answers.length).toBeGreaterThan(0);
    const last = await answers.at(-1)!;
    expect(error).toBeInstanceOf(CorralError);
    expect(error).toMatchObject({ status: 503, code: last.code, zkCode: expect.any(Number) });
    expect((error as Error).message).toBe(`${last.code}: ${last.message}`);
    expect(last.message).not.toBe('');
    // And it is what the surviving node says to anyone: it is the one that answered.
    const direct = await fetch(`${cluster.url(survivor!)}/v1/znodes/no-quorum`, { method: 'POST', body: 'x', signal: AbortSignal.timeout(10_000) });
    expect(direct.status).toBe(503);
    expect(((await direct.json()) as { code: string }).code).toBe(last.code);
  }, 30_000);
});

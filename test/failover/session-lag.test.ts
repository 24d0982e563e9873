/**
 * A session opened through one member a moment ago acts through another that has not applied its
 * opening yet: the member waits (bounded) for the session's zxid — its id — instead of answering
 * 404 UNKNOWNSESSION.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/corral-process.ts';
import { startInProcessCluster, type InProcessCluster } from '../support/inprocess-cluster.ts';

let cluster: InProcessCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('a session used through a member that lags', () => {
  it('is waited for, not refused as unknown', { timeout: 60_000 }, async () => {
    cluster = await startInProcessCluster(3);
    const leader = await cluster.leader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const { host } = cluster.servers[follower - 1]!.node;
    // The follower hears nothing from the leader until released.
    const held: Parameters<typeof host.receive>[0][] = [];
    let holding = true;
    const receive = host.receive.bind(host);
    host.receive = (message) => (holding ? void held.push(message) : receive(message));
    const opened = await fetch(`${cluster.urls[leader - 1]}/v1/sessions`, {
      method: 'POST', body: JSON.stringify({ timeoutMs: 10_000 }), signal: AbortSignal.timeout(8000),
    });
    expect(opened.status).toBe(201);
    const session = await opened.json() as { id: string; token: string };
    expect(host.appliedZxid).toBeLessThan(Number(session.id));
    const created = fetch(`${cluster.urls[follower - 1]}/v1/znodes/mine?mode=ephemeral`, {
      method: 'POST', body: 'x', headers: { 'zk-session-id': session.id, 'zk-session-token': session.token }, signal: AbortSignal.timeout(8000),
    });
    await waitFor(() => held.length > 0, { timeoutMs: 5000, what: 'a message from the leader to hold' });
    holding = false;
    for (const message of held.splice(0)) receive(message);
    const answer = await created;
    expect(answer.status, await answer.clone().text()).toBe(201);
  });
});

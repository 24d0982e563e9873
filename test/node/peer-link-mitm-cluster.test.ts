/**
 * A 3-member cluster whose links into member 3 run through a relay that passes each handshake
 * through and then injects a forged Raft message (the security review's attack: it needs no
 * secret). Member 3 accepts none of it; writes through the others commit meanwhile; once the
 * relay stops meddling, member 3 is back and has every write.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/corral-process.ts';
import { createZnode, localData, MemberCluster } from '../transport/member-cluster.ts';
import { MeddlingRelay } from '../transport/meddling-relay.ts';

let cluster: MemberCluster | undefined;
let relay: MeddlingRelay | undefined;

afterEach(async () => {
  await cluster?.close();
  await relay?.close();
  cluster = undefined;
  relay = undefined;
});

/** A heartbeat from the dialer at a term far ahead: stepped, it would depose the leader. */
const FORGED_TERM = 100_000;

describe('a cluster with a meddling relay in front of one member', () => {
  it('accepts no injected frame, commits through the others, and heals once the relay stops', { timeout: 60_000 }, async () => {
    cluster = await MemberCluster.create({ size: 3 });
    relay = await MeddlingRelay.start(cluster.peerPorts[2]!, (hello) => ({ type: 'MsgHeartbeat', from: hello.from, to: hello.to, term: FORGED_TERM, commit: 0 }));
    relay.meddling = 'inject';
    cluster.redirect(3, relay.port);
    await cluster.startAll();
    // Member 3 hears nobody while every link into it is meddled with: the leader is 1 or 2.
    const leader = await waitFor(() => {
      const [one, two] = [cluster!.servers[0]!.node.host.status(), cluster!.servers[1]!.node.host.status()];
      return one.leader === two.leader && (one.leader === 1 || one.leader === 2) ? one.leader : undefined;
    }, { timeoutMs: 15_000, what: 'a leader among members 1 and 2' });
    const other = leader === 1 ? 2 : 1;

    await waitFor(() => relay!.meddled >= 2, { timeoutMs: 10_000, what: 'the relay to inject' });
    for (let n = 0; n < 5; n++) expect(await createZnode(cluster.url(other), `/during-${n}`, `v${n}`)).toBe(201);
    const third = cluster.servers[2]!;
    expect(third.node.host.status().term).toBeLessThan(FORGED_TERM);
    expect(cluster.servers.map((s) => s!.node.host.status().term).every((term) => term < FORGED_TERM)).toBe(true);
    const rejected = Object.values(third.node.peers.stats()!.peers).reduce((sum, p) => sum + p.framesRejected, 0);
    expect(rejected).toBeGreaterThan(0);

    relay.meddling = 'pass';
    await waitFor(async () => (await localData(cluster!.url(3), '/during-4')) === 'v4', { timeoutMs: 15_000, what: 'member 3 to catch up' });
    expect(await createZnode(cluster.url(3), '/after', 'a')).toBe(201);
    expect(third.node.host.status().term).toBeLessThan(FORGED_TERM);
  });
});

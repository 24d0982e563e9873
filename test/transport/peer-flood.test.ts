/**
 * A flood of unauthenticated sockets from one address (127.0.0.2, another loopback address) at a
 * member's peer port must not keep a restarted member out of the cluster, nor fill the log.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/corral-process.ts';
import { capturedLogger } from './captured-logger.ts';
import { createZnode, localData, MemberCluster } from './member-cluster.ts';

const FLOOD_SOURCE = '127.0.0.2';
const FLOOD_SOCKETS = 500;
const FLOOD_OPENS_MAX = 40_000;
/** Sockets opened per top-up (every 20 ms) at most: a steady flood of up to 5,000 a second, not a burst that exhausts itself. */
const FLOOD_OPENS_PER_TOP_UP = 100;

/** Holds up to FLOOD_SOCKETS sockets open at `port`, reopening closed ones every 20 ms; FLOOD_OPENS_MAX opens at most. */
class Flood {
  readonly open = new Set<Socket>();
  opens = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly port: number) {
    this.topUp();
    this.timer = setInterval(() => this.topUp(), 20);
  }

  stop(): void {
    clearInterval(this.timer);
    for (const socket of this.open) socket.destroy();
    this.open.clear();
  }

  private topUp(): void {
    for (let n = 0; n < FLOOD_OPENS_PER_TOP_UP && this.open.size < FLOOD_SOCKETS && this.opens < FLOOD_OPENS_MAX; n++) {
      this.opens++;
      const socket = connect({ host: '127.0.0.1', port: this.port, localAddress: FLOOD_SOURCE });
      socket.on('error', () => socket.destroy());
      socket.on('close', () => this.open.delete(socket));
      socket.resume();
      this.open.add(socket);
    }
  }
}

let cluster: MemberCluster | undefined;
let flood: Flood | undefined;

afterEach(async () => {
  flood?.stop();
  flood = undefined;
  await cluster?.close();
  cluster = undefined;
});

describe('a member under a flood of unauthenticated peer connections', () => {
  it('lets a restarted member rejoin and commit within seconds, logging a summary, not a line per socket', { timeout: 60_000 }, async () => {
    const log = capturedLogger('info');
    cluster = await MemberCluster.create({ size: 3, loggerOf: (id) => (id === 1 ? log.logger : undefined) });
    await cluster.startAll();
    await cluster.leader();
    await cluster.stop(2);

    flood = new Flood(cluster.peerPorts[0]!);
    const floodMember = cluster.servers[0]!;
    await waitFor(() => floodMember.node.peers.stats()!.rejectedConnections >= FLOOD_SOCKETS / 2, { timeoutMs: 10_000, what: 'the flood to be refused' });

    const restartedAtMs = Date.now();
    const restarted = await cluster.start(2);
    // Member 2's own dial to the flooded member gets through, and member 1's dial back.
    await waitFor(() => restarted.node.peers.peersConnected().get(1) === true && floodMember.node.peers.peersConnected().get(2) === true,
      { timeoutMs: 10_000, what: 'member 2 to be linked with the flooded member 1' });
    await waitFor(() => restarted.node.host.status().leader !== 0, { timeoutMs: 10_000, what: 'member 2 to know the leader' });
    expect(await createZnode(cluster.url(2), '/during-flood', 'v')).toBe(201);
    await waitFor(async () => (await localData(cluster!.url(1), '/during-flood')) === 'v', { timeoutMs: 10_000, what: 'the write on member 1' });
    expect(Date.now() - restartedAtMs).toBeLessThan(20_000);
    expect(flood.opens).toBeGreaterThanOrEqual(FLOOD_SOCKETS);

    flood.stop();
    await cluster.stop(1); // flushes the summary of refusals
    const refused = floodMember.node.peers.stats()!.refusedHandshakes;
    expect(refused['per-source']).toBeGreaterThanOrEqual(FLOOD_SOCKETS / 2);
    const summaries = log.events('peer-handshakes-refused');
    expect(summaries.length).toBeGreaterThan(0);
    expect(summaries.every((line) => line['remote'] === FLOOD_SOURCE)).toBe(true);
    // A handful of summaries (one per source per 10 s), against thousands of refused sockets.
    expect(log.lines.filter((line) => (line['level'] as number) >= 40).length).toBeLessThan(20);
  });
});

/**
 * Members of a test cluster on 127.0.0.1, each a PeerTransport that records what it receives,
 * and a pool that closes every transport and proxy a test started, even when it fails.
 */
import { createLogger } from '../../src/observability/logger.ts';
import { PeerTransport, type PeerAddress, type PeerTransportOptions } from '../../src/transport/peer-transport.ts';
import { FaultProxy } from '../support/fault-proxy.ts';
import { freePort, waitFor } from '../support/corral-process.ts';

export const SECRET = 'a shared cluster secret for tests';
export const HOST = '127.0.0.1';

/** Short timers so that faults are noticed within a test's budget. */
export const FAST = {
  backoff: { initialMs: 10, maxMs: 100 },
  handshakeTimeoutMs: 500,
  heartbeatIntervalMs: 50,
  idleTimeoutMs: 300,
} as const;

export interface Received {
  readonly from: number;
  readonly message: unknown;
}

export interface Member {
  readonly id: number;
  readonly port: number;
  readonly transport: PeerTransport;
  readonly inbox: Received[];
  /** onPeerState calls, in order. */
  readonly states: Array<{ readonly id: number; readonly connected: boolean }>;
}

export type MemberOverrides = Partial<Omit<PeerTransportOptions, 'selfId' | 'listen' | 'peers' | 'onMessage' | 'onPeerState'>>;

export class Pool {
  private readonly open: Array<{ close(): Promise<void> }> = [];

  /** Starts member `id` listening on `port`, dialing `peers`. */
  async member(id: number, port: number, peers: readonly PeerAddress[], overrides: MemberOverrides = {}): Promise<Member> {
    const inbox: Received[] = [];
    const states: Member['states'] = [];
    const transport = new PeerTransport({
      selfId: id, listen: { host: HOST, port }, peers, secret: SECRET, logger: createLogger('silent'), ...FAST, ...overrides,
      onMessage: (from, message) => inbox.push({ from, message }),
      onPeerState: (peer, connected) => states.push({ id: peer, connected }),
    });
    this.open.push(transport);
    await transport.start();
    return { id, port: transport.port, transport, inbox, states };
  }

  /** Members 1..n, all connected to each other directly. */
  async cluster(n: number, overrides: MemberOverrides = {}): Promise<Member[]> {
    const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
    const addresses = ports.map((port, i) => ({ id: i + 1, host: HOST, port }));
    const members = await Promise.all(addresses.map((self) =>
      this.member(self.id, self.port, addresses.filter((peer) => peer.id !== self.id), overrides)));
    await waitFor(() => members.every((m) => members.every((p) => p.id === m.id || m.transport.isConnected(p.id))),
      { timeoutMs: 5000, what: `${n} members to connect` });
    return members;
  }

  async proxy(targetPort: number): Promise<FaultProxy> {
    const proxy = await FaultProxy.start({ target: { host: HOST, port: targetPort } });
    this.open.push(proxy);
    return proxy;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.open.splice(0).map((item) => item.close()));
  }
}

/** The messages in `inbox` from `from`, in arrival order. */
export function from(inbox: readonly Received[], sender: number): unknown[] {
  return inbox.filter((r) => r.from === sender).map((r) => r.message);
}

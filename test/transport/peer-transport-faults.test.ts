/**
 * Member 1's link to member 2 runs through a FaultProxy; the link back is direct. With FAST
 * timers a hung link is declared dead after ~6 heartbeats (300 ms) without acknowledgement.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultProxy } from '../support/fault-proxy.ts';
import { freePort, waitFor } from '../support/corral-process.ts';
import { from, HOST, type Member, type MemberOverrides, Pool } from './harness.ts';

const pool = new Pool();

afterEach(() => pool.closeAll());

async function proxiedPair(overrides: MemberOverrides = {}): Promise<{ a: Member; b: Member; proxy: FaultProxy }> {
  const [portA, portB] = [await freePort(), await freePort()];
  const b = await pool.member(2, portB, [{ id: 1, host: HOST, port: portA }], overrides);
  const proxy = await pool.proxy(portB);
  const a = await pool.member(1, portA, [{ id: 2, host: HOST, port: proxy.port }], overrides);
  await waitFor(() => a.transport.isConnected(2) && b.transport.isConnected(1), { timeoutMs: 5000, what: 'both links up' });
  return { a, b, proxy };
}

describe('PeerTransport through a FaultProxy', () => {
  it('stops delivering while the link is blackholed, notices, and delivers again once it passes', async () => {
    const { a, b, proxy } = await proxiedPair();
    a.transport.send(2, 'before');
    await waitFor(() => from(b.inbox, 1).length === 1, { timeoutMs: 2000 });

    proxy.setMode('blackhole');
    // Accepted by a link that looks up, then swallowed: acknowledgements stop, so it goes down.
    expect(a.transport.send(2, 'into the void')).toBe('sent');
    await waitFor(() => !a.transport.isConnected(2), { timeoutMs: 3000, what: 'the hung link to be noticed' });
    expect(a.transport.send(2, 'while down')).toBe('disconnected');
    expect(b.transport.isConnected(1)).toBe(true); // the other direction is untouched

    proxy.setMode('pass');
    await waitFor(() => a.transport.isConnected(2), { timeoutMs: 3000, what: 'the link to come back' });
    a.transport.send(2, 'after');
    await waitFor(() => from(b.inbox, 1).includes('after'), { timeoutMs: 2000 });
    expect(from(b.inbox, 1)).toEqual(['before', 'after']);
    expect(a.states.map((s) => s.connected)).toEqual([true, false, true]);
  });

  it('redials after drop resets the link, dropping and counting messages meanwhile', async () => {
    const { a, b, proxy } = await proxiedPair();
    proxy.setMode('drop');
    await waitFor(() => !a.transport.isConnected(2), { timeoutMs: 2000, what: 'the reset to be seen' });
    expect(a.transport.send(2, 'lost')).toBe('disconnected');

    proxy.setMode('pass');
    await waitFor(() => a.transport.isConnected(2), { timeoutMs: 3000, what: 'the redial' });
    a.transport.send(2, 'through');
    await waitFor(() => from(b.inbox, 1).length === 1, { timeoutMs: 2000 });
    expect(from(b.inbox, 1)).toEqual(['through']);
    expect(a.transport.stats().peers[2]).toMatchObject({ reconnects: 1, dropped: 1, authFailures: 0 });
  });

  it('delivers late but in order through a delaying link', async () => {
    const { a, b, proxy } = await proxiedPair();
    proxy.setMode({ delayMs: 150 });
    const startedMs = Date.now();
    for (let seq = 0; seq < 20; seq++) a.transport.send(2, { seq });
    await waitFor(() => from(b.inbox, 1).length === 20, { timeoutMs: 3000, what: 'the delayed messages' });
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(140);
    expect(from(b.inbox, 1)).toEqual(Array.from({ length: 20 }, (_, seq) => ({ seq })));
    expect(a.transport.isConnected(2)).toBe(true);
  });

  it('keeps a link up whose round trip is slower than a heartbeat but within the idle timeout', async () => {
    const { a, b, proxy } = await proxiedPair();
    proxy.setMode({ delayMs: 100 }); // 200 ms for a ping and its ack, four heartbeats
    const reconnectsBefore = a.transport.stats().peers[2]!.reconnects;
    for (let round = 0; round < 5; round++) {
      a.transport.send(2, round);
      await waitFor(() => from(b.inbox, 1).includes(round), { timeoutMs: 2000 });
    }
    expect(a.transport.stats().peers[2]!.reconnects).toBe(reconnectsBefore);
  });

  it('keeps redialing through a blackhole without holding sockets open on either side', async () => {
    const { a, b, proxy } = await proxiedPair({ handshakeTimeoutMs: 150 });
    proxy.setMode('blackhole');
    await waitFor(() => !a.transport.isConnected(2), { timeoutMs: 3000 });
    // Each redial hangs in the handshake and is given up; B drops what it accepted too.
    await waitFor(() => b.transport.stats().rejectedConnections >= 2, { timeoutMs: 5000, what: 'timed-out handshakes on B' });
    proxy.setMode('pass');
    await waitFor(() => a.transport.isConnected(2), { timeoutMs: 3000 });
    await waitFor(() => proxy.connections === 1, { timeoutMs: 3000, what: 'stale proxied connections to go' });
  });
});

/**
 * The peer transport as membership changes (a member added or removed through the log): a new
 * member is dialed and its connections accepted from the moment it is added, not before; a
 * removed member's links close and its connections are refused again. Authentication is as
 * before (the cluster secret): membership is what decides who may authenticate.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../support/corral-process.ts';
import { from, HOST, Pool } from './harness.ts';

const pool = new Pool();

afterEach(async () => {
  await pool.closeAll();
});

describe('PeerTransport membership', () => {
  it('refuses a member not in the configuration, accepts it once added, and refuses it again once removed', async () => {
    const [portA, portC] = [await freePort(), await freePort()];
    const a = await pool.member(1, portA, []);
    // C knows A; A does not know C yet.
    const c = await pool.member(3, portC, [{ id: 1, host: HOST, port: portA }]);
    await waitFor(() => a.transport.stats().refusedHandshakes !== undefined && Object.values(a.transport.stats().refusedHandshakes).some((n) => n > 0),
      { timeoutMs: 5000, what: 'A to refuse C\'s handshake' });
    expect(c.transport.isConnected(1)).toBe(false);
    expect(a.transport.knows(3)).toBe(false);

    a.transport.addPeer({ id: 3, host: HOST, port: portC });
    await waitFor(() => c.transport.isConnected(1) && a.transport.isConnected(3), { timeoutMs: 5000, what: 'A and C to connect both ways' });
    expect(c.transport.send(1, { hello: 'from C' })).toBe('sent');
    expect(a.transport.send(3, { hello: 'from A' })).toBe('sent');
    await waitFor(() => a.inbox.length === 1 && c.inbox.length === 1, { timeoutMs: 5000, what: 'both messages' });
    expect(from(a.inbox, 3)).toEqual([{ hello: 'from C' }]);

    a.transport.removePeer(3);
    expect(a.transport.knows(3)).toBe(false);
    await waitFor(() => !c.transport.isConnected(1), { timeoutMs: 5000, what: 'C\'s link to A to close' });
    const refusedBefore = Object.values(a.transport.stats().refusedHandshakes).reduce((n, k) => n + k, 0);
    await waitFor(() => Object.values(a.transport.stats().refusedHandshakes).reduce((n, k) => n + k, 0) > refusedBefore,
      { timeoutMs: 5000, what: 'C\'s redial to be refused' });
    c.transport.send(1, { after: 'removal' });
    expect(from(a.inbox, 3)).toEqual([{ hello: 'from C' }]);
  });
});

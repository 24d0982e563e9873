import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FRAME_HEADER_BYTES } from '../../src/transport/frame-codec.ts';
import { FramedSocket } from '../../src/transport/framed-socket.ts';
import { dialHandshake, HANDSHAKE_MAX_FRAME_BYTES, type HandshakeResult } from '../../src/transport/handshake.ts';
import { PeerTransport } from '../../src/transport/peer-transport.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { freePort, waitFor } from '../support/corral-process.ts';
import { capturedLogger } from './captured-logger.ts';
import { from, HOST, Pool, SECRET } from './harness.ts';

const pool = new Pool();
const rawSockets: Socket[] = [];

afterEach(async () => {
  for (const socket of rawSockets.splice(0)) socket.destroy();
  await pool.closeAll();
});

function rawConnect(port: number): Socket {
  const socket = connect(port, HOST);
  socket.on('error', () => undefined);
  socket.resume(); // read, so that the other end closing is seen
  rawSockets.push(socket);
  return socket;
}

function closed(socket: Socket): boolean {
  return socket.destroyed || socket.readableEnded;
}

/** A raw connection that authenticates as member `selfId` with `secret` (sealed), for writing frames by hand. */
async function authenticatedSocket(port: number, selfId: number, peerId: number): Promise<FramedSocket> {
  const conn = new FramedSocket(rawConnect(port), HANDSHAKE_MAX_FRAME_BYTES);
  const result = await new Promise<HandshakeResult>((resolve) =>
    dialHandshake(conn, { selfId, peerId, secret: SECRET, seal: true, timeoutMs: 2000 }, resolve));
  expect(result).toEqual({ ok: true, peerId, sealed: true });
  return conn;
}

describe('PeerTransport', () => {
  it('delivers messages between three members, in order per link, from the authenticated sender', async () => {
    const members = await pool.cluster(3);
    for (const sender of members) {
      for (const receiver of members) {
        if (receiver.id === sender.id) continue;
        // The payload's own `from` is a lie the transport must not believe.
        for (let seq = 0; seq < 50; seq++) expect(sender.transport.send(receiver.id, { from: 99, seq })).toBe('sent');
      }
    }
    await waitFor(() => members.every((m) => m.inbox.length === 100), { timeoutMs: 5000, what: 'all messages' });
    for (const receiver of members) {
      for (const sender of members) {
        if (sender.id === receiver.id) continue;
        expect(from(receiver.inbox, sender.id)).toEqual(Array.from({ length: 50 }, (_, seq) => ({ from: 99, seq })));
      }
      expect(receiver.inbox.every((r) => r.from !== 99)).toBe(true);
    }
    expect(members[0]!.transport.stats().peers[2]).toMatchObject({ connected: true, framesSent: 50, framesReceived: 50, dropped: 0 });
  });

  it('carries bytes as bytes to a member that reads binary frames, in order with JSON messages', async () => {
    const [a, b] = await pool.cluster(2);
    await waitFor(() => a!.transport.sendsBinary(2), { timeoutMs: 2000, what: 'the binary link' });
    expect(a!.transport.send(2, new Uint8Array([0, 1, 255]))).toBe('sent');
    expect(a!.transport.send(2, { seq: 1 })).toBe('sent');
    expect(a!.transport.send(2, new Uint8Array(0))).toBe('sent');
    await waitFor(() => b!.inbox.length === 3, { timeoutMs: 2000, what: 'three messages' });
    const got = from(b!.inbox, 1).map((m) => (m instanceof Uint8Array ? { bytes: [...m] } : m));
    expect(got).toEqual([{ bytes: [0, 1, 255] }, { seq: 1 }, { bytes: [] }]);
  });

  it('tells each dialer the newest layout its listener reads, at once, on the authenticated link', async () => {
    const ports = [await freePort(), await freePort()];
    const [a, b] = await Promise.all([
      pool.member(1, ports[0]!, [{ id: 2, host: HOST, port: ports[1]! }], { reads: 2 }),
      pool.member(2, ports[1]!, [{ id: 1, host: HOST, port: ports[0]! }]), // as a build before layouts: reads 1
    ]);
    await waitFor(() => b.transport.peerReads(1) === 2 && a.transport.isConnected(2), { timeoutMs: 5000, what: 'member 2 to learn what 1 reads' });
    expect(a.transport.peerReads(2)).toBe(1);
    expect(a.transport.peerReads(99)).toBe(1);
  });

  it('never connects to or accepts messages from a member that does not know the secret', async () => {
    const ports = [await freePort(), await freePort()];
    const addresses = [{ id: 1, host: HOST, port: ports[0]! }, { id: 2, host: HOST, port: ports[1]! }];
    const honest = await pool.member(1, ports[0]!, [addresses[1]!]);
    const impostor = await pool.member(2, ports[1]!, [addresses[0]!], { secret: 'a guessed secret' });
    // Each side turns down the other's hello.
    await waitFor(() => honest.transport.stats().peers[2]!.authFailures > 0 && impostor.transport.stats().peers[1]!.authFailures > 0,
      { timeoutMs: 5000, what: 'failed handshakes on both sides' });
    expect(honest.transport.isConnected(2)).toBe(false);
    expect(impostor.transport.send(1, { type: 'MsgVote', term: 99 })).toBe('disconnected');
    expect(honest.transport.send(2, { type: 'secret stuff' })).toBe('disconnected');
    expect(honest.inbox).toEqual([]);
    expect(impostor.inbox).toEqual([]);
    expect(honest.transport.stats().rejectedConnections).toBeGreaterThan(0);
  });

  it('closes a raw connection that sends garbage, and keeps serving members', async () => {
    const [a, b] = await pool.cluster(2);
    const stranger = rawConnect(a!.port);
    stranger.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => closed(stranger), { timeoutMs: 2000, what: 'the stranger to be dropped' });
    expect(a!.transport.stats().rejectedConnections).toBe(1);
    b!.transport.send(1, 'still here');
    await waitFor(() => a!.inbox.length === 1, { timeoutMs: 2000 });
  });

  it('closes a raw connection that says nothing once the handshake times out', async () => {
    const [a] = await pool.cluster(2, { handshakeTimeoutMs: 150 });
    const stranger = rawConnect(a!.port);
    await waitFor(() => closed(stranger), { timeoutMs: 2000, what: 'the silent stranger to be dropped' });
    expect(a!.transport.stats().rejectedConnections).toBe(1);
  });

  it('closes an authenticated connection that sends a malformed frame, without harm to the rest', async () => {
    const [a, b] = await pool.cluster(3);
    // Member 3's credentials, a second connection: it replaces 3's own, then breaks the framing.
    const conn = await authenticatedSocket(a!.port, 3, 1);
    const body = Buffer.from('{"type":"msg","body":');
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt32BE(body.length, 0);
    conn.writeFrame(Buffer.concat([header, body])); // sealed as it should be: the channel is fine, the frame is not
    await waitFor(() => conn.closed, { timeoutMs: 2000, what: 'the connection to be closed' });
    b!.transport.send(1, 'unaffected');
    await waitFor(() => from(a!.inbox, 2).length === 1, { timeoutMs: 2000 });
    expect(from(a!.inbox, 3)).toEqual([]);
  });

  it('closes an authenticated connection that sends a frame over maxFrameBytes', async () => {
    const [a] = await pool.cluster(2, { maxFrameBytes: 1024 });
    const conn = await authenticatedSocket(a!.port, 2, 1);
    conn.writeFrame(encodeFrame({ type: 'msg', body: 'x'.repeat(2000) }));
    await waitFor(() => conn.closed, { timeoutMs: 2000, what: 'the connection to be closed' });
    expect(a!.inbox).toEqual([]);
  });

  it('reconnects to a peer that restarts on the same port, and messages flow again', async () => {
    const [a, b] = await pool.cluster(2);
    await b!.transport.close();
    await waitFor(() => !a!.transport.isConnected(2), { timeoutMs: 2000, what: 'the link to go down' });
    expect(a!.transport.send(2, 'while down')).toBe('disconnected');

    const restarted = await pool.member(2, b!.port, [{ id: 1, host: HOST, port: a!.port }]);
    await waitFor(() => a!.transport.isConnected(2), { timeoutMs: 5000, what: 'the link to come back' });
    expect(a!.transport.send(2, 'after restart')).toBe('sent');
    await waitFor(() => restarted.inbox.length === 1, { timeoutMs: 2000 });
    expect(restarted.inbox).toEqual([{ from: 1, message: 'after restart' }]);
    expect(a!.transport.stats().peers[2]).toMatchObject({ reconnects: 1, dropped: 1 });
    expect(a!.states).toEqual([{ id: 2, connected: true }, { id: 2, connected: false }, { id: 2, connected: true }]);
  });

  it('dials a peer at once when that peer connects to it, instead of waiting out a long backoff', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    // A's first dial fails (nobody listens yet) and its next one is a minute away.
    const log = capturedLogger('debug');
    const a = await pool.member(1, portA, [{ id: 2, host: HOST, port: portB }], { backoff: { initialMs: 60_000, maxMs: 60_000 }, logger: log.logger });
    await waitFor(() => log.events('peer-dial-failed').length > 0 || undefined, { timeoutMs: 5000, what: 'A\'s first dial to fail' });
    const b = await pool.member(2, portB, [{ id: 1, host: HOST, port: portA }]);
    await waitFor(() => b.transport.isConnected(1) || undefined, { timeoutMs: 5000, what: 'the peer\'s link to A' });
    await waitFor(() => a.transport.isConnected(2) || undefined, { timeoutMs: 5000, what: 'A\'s link to the peer, well before its backoff ends' });
    expect(a.transport.stats().peers[2]).toMatchObject({ connected: true, reconnects: 0 });
  });

  it('drops and counts messages to a peer that is down instead of queueing them', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const a = await pool.member(1, portA, [{ id: 2, host: HOST, port: portB }]);
    for (let i = 0; i < 5; i++) expect(a.transport.send(2, { early: i })).toBe('disconnected');
    expect(a.transport.stats().peers[2]).toMatchObject({ connected: false, dropped: 5, framesSent: 0 });

    const b = await pool.member(2, portB, [{ id: 1, host: HOST, port: portA }]);
    await waitFor(() => a.transport.isConnected(2), { timeoutMs: 5000, what: 'the peer to be reached' });
    a.transport.send(2, 'late');
    await waitFor(() => b.inbox.length > 0, { timeoutMs: 2000 });
    expect(b.inbox).toEqual([{ from: 1, message: 'late' }]);
  });

  it('carries a 20 MB message intact', async () => {
    const [a, b] = await pool.cluster(2);
    // 20 Ki numbered pieces of 1 KiB (and non-ASCII text): a lost, doubled or swapped chunk shows.
    const filler = 'abc☃déf'.repeat(145);
    const blob = Array.from({ length: 20 * 1024 }, (_, i) => i.toString(36).padStart(8, '0') + filler).join('');
    expect(a!.transport.send(2, { blob })).toBe('sent');
    a!.transport.send(2, 'next');
    await waitFor(() => b!.inbox.length === 2, { timeoutMs: 10_000, what: 'the large message' });
    const first = b!.inbox[0]!.message as { blob: string };
    expect(first.blob.length).toBe(blob.length);
    expect(first.blob === blob).toBe(true);
    expect(b!.inbox[1]!.message).toBe('next');
  });

  it('drops messages while more than maxBufferedBytes wait in the socket', async () => {
    const [a, b] = await pool.cluster(2, { maxBufferedBytes: 1024 });
    // More than the kernel takes at once, so most of it waits in the socket.
    expect(a!.transport.send(2, 'x'.repeat(8 * 1024 * 1024))).toBe('sent');
    expect(a!.transport.send(2, 'squeezed out')).toBe('backpressure');
    await waitFor(() => a!.transport.send(2, 'room again') === 'sent', { timeoutMs: 10_000, what: 'the buffer to drain' });
    await waitFor(() => from(b!.inbox, 1).includes('room again'), { timeoutMs: 5000 });
    expect(from(b!.inbox, 1)).not.toContain('squeezed out');
    expect(a!.transport.stats().peers[2]!.dropped).toBeGreaterThanOrEqual(1);
  });

  it('refuses a message over maxFrameBytes and keeps the link up', async () => {
    const [a, b] = await pool.cluster(2, { maxFrameBytes: 1024 });
    expect(a!.transport.send(2, 'x'.repeat(2000))).toBe('too-large');
    expect(a!.transport.send(2, 'fits')).toBe('sent');
    await waitFor(() => b!.inbox.length === 1, { timeoutMs: 2000 });
    expect(a!.transport.stats().peers[2]).toMatchObject({ connected: true, dropped: 1, framesSent: 1 });
  });

  it('rejects a send to a member it does not know', async () => {
    const [a] = await pool.cluster(2);
    expect(() => a!.transport.send(7, 'hello?')).toThrow(/unknown member 7/);
  });

  it('closes idempotently, leaving nothing listening or dialing', async () => {
    const [a, b] = await pool.cluster(2);
    await Promise.all([a!.transport.close(), a!.transport.close()]);
    await a!.transport.close();
    expect(a!.transport.send(2, 'after close')).toBe('disconnected');
    await waitFor(() => !b!.transport.isConnected(1), { timeoutMs: 2000, what: 'the peer to notice' });
    const probe = rawConnect(a!.port);
    await waitFor(() => closed(probe), { timeoutMs: 2000, what: 'the port to refuse' });
  });

  it('can be closed before it starts, or while it is binding', async () => {
    const port = await freePort();
    const options = {
      selfId: 1, listen: { host: HOST, port }, peers: [{ id: 2, host: HOST, port: await freePort() }], secret: SECRET,
      logger: createLogger('silent'), onMessage: () => undefined,
    };
    await new PeerTransport(options).close();
    const binding = new PeerTransport(options);
    const started = binding.start();
    await binding.close();
    await started;
    expect(binding.isConnected(2)).toBe(false);
    // Nothing was left listening on the port.
    const again = new PeerTransport(options);
    await again.start();
    await again.close();
  });
});

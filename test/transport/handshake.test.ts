import { createHmac, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/transport/frame-codec.ts';
import { FramedSocket } from '../../src/transport/framed-socket.ts';
import {
  acceptHandshake, dialHandshake, HANDSHAKE_MAX_FRAME_BYTES, PEER_PROTOCOL, type HandshakeResult,
} from '../../src/transport/handshake.ts';
import { waitFor } from '../support/corral-process.ts';

const SECRET = 'the cluster secret';
const MEMBERS = new Set([1, 2, 3]);

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function framed(socket: Socket): FramedSocket {
  sockets.push(socket);
  return new FramedSocket(socket, HANDSHAKE_MAX_FRAME_BYTES);
}

interface Listener {
  readonly port: number;
  /** One result per accepted connection. */
  readonly results: HandshakeResult[];
}

/** Member `selfId` accepting handshakes on a fresh port. */
async function listen(selfId: number, secret = SECRET, timeoutMs = 2000): Promise<Listener> {
  const results: HandshakeResult[] = [];
  const server = createServer((socket) => {
    acceptHandshake(framed(socket), { selfId, secret, seal: true, timeoutMs, members: new Set([...MEMBERS].filter((id) => id !== selfId)) },
      (result) => results.push(result));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, results };
}

/** Member `selfId` dialing what it believes is member `peerId`. */
function dial(port: number, selfId: number, peerId: number, secret = SECRET): Promise<HandshakeResult> {
  return new Promise((resolve) => {
    dialHandshake(framed(connect(port, '127.0.0.1')), { selfId, peerId, secret, seal: true, timeoutMs: 2000 }, resolve);
  });
}

/** Frames the listener sends to a raw client, as they arrive. */
function rawClient(port: number): { socket: Socket; frames: unknown[] } {
  const frames: unknown[] = [];
  const conn = framed(connect(port, '127.0.0.1'));
  conn.onFrame = (message) => frames.push(message);
  return { socket: conn.socket, frames };
}

describe('peer handshake', () => {
  it('authenticates both ends when they share the secret, and seals the connection', async () => {
    const listener = await listen(1);
    await expect(dial(listener.port, 2, 1)).resolves.toEqual({ ok: true, peerId: 1, sealed: true });
    await waitFor(() => listener.results.length === 1, { timeoutMs: 2000 });
    expect(listener.results[0]).toEqual({ ok: true, peerId: 2, sealed: true });
  });

  it('refuses a dialer of an earlier protocol, whose hello says none, saying so', async () => {
    const listener = await listen(1);
    const { socket, frames } = rawClient(listener.port);
    await waitFor(() => frames.length === 1, { timeoutMs: 2000, what: 'the challenge' });
    expect(frames[0]).toMatchObject({ type: 'challenge', protocol: PEER_PROTOCOL });
    const listenerNonce = (frames[0] as { nonce: string }).nonce;
    const dialerNonce = randomBytes(32).toString('base64url');
    const text = ['corral/peer-handshake/v1/hello', 2, 1, listenerNonce, dialerNonce].join('|');
    const mac = createHmac('sha256', SECRET).update(text, 'utf8').digest('hex');
    socket.write(encodeFrame({ type: 'hello', from: 2, to: 1, nonce: dialerNonce, mac }));
    await waitFor(() => listener.results.length === 1, { timeoutMs: 2000, what: 'the refusal' });
    expect(listener.results[0]).toMatchObject({ ok: false, reason: 'protocol', detail: expect.stringMatching(/upgrade every member/) });
    expect(frames).toHaveLength(1); // no welcome
  });

  it('refuses a listener of an earlier protocol, whose challenge says none', async () => {
    const old = createServer((socket) => framed(socket).write({ type: 'challenge', nonce: 'N'.repeat(43) }));
    servers.push(old);
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
    const result = await dial((old.address() as { port: number }).port, 2, 1);
    expect(result).toMatchObject({ ok: false, reason: 'protocol', claimedId: 1 });
  });

  const rejections = [
    { name: 'a dialer with another secret', dialer: 2, target: 1, secret: 'not the secret', reason: 'bad-mac', claimedId: 2 },
    { name: 'a hello addressed to another member', dialer: 2, target: 3, secret: SECRET, reason: 'wrong-target', claimedId: 2 },
    { name: 'a dialer that is not a configured member', dialer: 9, target: 1, secret: SECRET, reason: 'unknown-member', claimedId: undefined },
    { name: 'a dialer claiming to be the listener itself', dialer: 1, target: 1, secret: SECRET, reason: 'unknown-member', claimedId: undefined },
  ] as const;

  it.each(rejections)('rejects $name', async ({ dialer, target, secret, reason, claimedId }) => {
    const listener = await listen(1);
    const dialed = await dial(listener.port, dialer, target, secret);
    expect(dialed).toMatchObject({ ok: false, reason: 'closed' });
    await waitFor(() => listener.results.length === 1, { timeoutMs: 2000 });
    expect(listener.results[0]).toMatchObject({ ok: false, reason });
    // Counted against a member only when the claim names one.
    expect((listener.results[0] as { claimedId?: number }).claimedId).toBe(claimedId);
  });

  it('lets the dialer reject a listener that does not know the secret', async () => {
    // An impostor that challenges, then answers any hello with a welcome it cannot have computed.
    const impostor = createServer((socket) => {
      const conn = framed(socket);
      conn.onFrame = () => conn.write({ type: 'welcome', mac: 'ab'.repeat(32) });
      conn.write({ type: 'challenge', nonce: 'N'.repeat(43), protocol: PEER_PROTOCOL });
    });
    servers.push(impostor);
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const result = await dial((impostor.address() as { port: number }).port, 2, 1);
    expect(result).toMatchObject({ ok: false, reason: 'bad-mac', claimedId: 1 });
  });

  it('rejects a hello replayed against a fresh challenge', async () => {
    const listener = await listen(1);
    // Record a genuine hello by letting member 2 dial through a tap.
    const recorded: unknown[] = [];
    const tap = createServer((client) => {
      const upstream = framed(connect(listener.port, '127.0.0.1'));
      const fromDialer = framed(client);
      fromDialer.onFrame = (message) => {
        recorded.push(message);
        upstream.write(message);
      };
      upstream.onFrame = (message) => fromDialer.write(message);
    });
    servers.push(tap);
    await new Promise<void>((resolve) => tap.listen(0, '127.0.0.1', resolve));
    await expect(dial((tap.address() as { port: number }).port, 2, 1)).resolves.toMatchObject({ ok: true });
    const hello = recorded.find((m) => (m as { type: string }).type === 'hello');
    expect(hello).toBeDefined();

    const replay = rawClient(listener.port);
    await waitFor(() => replay.frames.length === 1, { timeoutMs: 2000, what: 'a challenge' });
    replay.socket.write(encodeFrame(hello));
    await waitFor(() => listener.results.length === 2, { timeoutMs: 2000 });
    expect(listener.results[1]).toMatchObject({ ok: false, reason: 'bad-mac', claimedId: 2 });
    expect(replay.frames).toHaveLength(1); // no welcome
  });

  it('gives up on a dialer that never answers the challenge', async () => {
    const listener = await listen(1, SECRET, 100);
    const silent = rawClient(listener.port);
    await waitFor(() => listener.results.length === 1, { timeoutMs: 2000 });
    expect(listener.results[0]).toMatchObject({ ok: false, reason: 'timeout' });
    await waitFor(() => silent.socket.destroyed || silent.socket.readableEnded, { timeoutMs: 2000, what: 'the socket to close' });
  });

  it('rejects a frame larger than a handshake message before buffering it', async () => {
    const listener = await listen(1);
    const client = rawClient(listener.port);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(HANDSHAKE_MAX_FRAME_BYTES + 1, 0);
    client.socket.write(header);
    await waitFor(() => listener.results.length === 1, { timeoutMs: 2000 });
    expect(listener.results[0]).toMatchObject({ ok: false, reason: 'closed' });
  });

  it.each([
    ['not a hello', { type: 'welcome', mac: '00'.repeat(32) }],
    ['a hello with a short nonce', { type: 'hello', from: 2, to: 1, nonce: 'abc', mac: '00'.repeat(32), protocol: 3 }],
    ['a hello with a fractional id', { type: 'hello', from: 2.5, to: 1, nonce: 'A'.repeat(43), mac: '00'.repeat(32), protocol: 3 }],
    ['a hello without a MAC', { type: 'hello', from: 2, to: 1, nonce: 'A'.repeat(43), protocol: 3 }],
    ['an array', [1, 2, 3]],
  ])('rejects %s as malformed', async (_, message) => {
    const listener = await listen(1);
    const client = rawClient(listener.port);
    client.socket.write(encodeFrame(message));
    await waitFor(() => listener.results.length === 1, { timeoutMs: 2000 });
    expect(listener.results[0]).toMatchObject({ ok: false, reason: 'malformed' });
  });
});

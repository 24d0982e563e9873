// Connection against a scripted server on loopback: the handshake, replies and notifications in
// the order they came (frame numbers), frames split across reads, and the bounds that close it.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../../src/zookeeper-client/connection.ts';
import { JuteWriter } from '../../src/zookeeper-client/jute.ts';
import type { WatcherEvent } from '../../src/zookeeper-client/records.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

/** A server that answers the handshake, then hands each request's xid to `onRequest`. */
async function scripted(onRequest: (socket: Socket, xid: number) => void): Promise<number> {
  const server = createServer((socket) => {
    let got = Buffer.alloc(0);
    let connected = false;
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      while (got.length >= 4 && got.length >= 4 + got.readInt32BE(0)) {
        const frame = got.subarray(4, 4 + got.readInt32BE(0));
        got = got.subarray(4 + frame.length);
        if (!connected) {
          connected = true;
          socket.write(new JuteWriter().int(0).int(6000).long(42n).buffer(new Uint8Array(16)).bool(false).framed());
        } else {
          onRequest(socket, frame.readInt32BE(0));
        }
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function open(port: number, events: Array<{ event: WatcherEvent; seq: number }>, closed: string[], maxFrameBytes = 1 << 20) {
  return Connection.open({
    host: '127.0.0.1', port, connectTimeoutMs: 2000, maxFrameBytes, frames: { n: 0 },
    request: { lastZxidSeen: 0n, timeoutMs: 6000, sessionId: 0n, password: new Uint8Array(16), readOnly: false },
  }, { notification: (event, _zxid, seq) => events.push({ event, seq }), closed: (reason) => closed.push(reason) });
}

describe('Connection', () => {
  it('reads the session from the handshake and a reply split byte by byte, after the notification before it', async () => {
    const port = await scripted((socket, xid) => {
      const notification = new JuteWriter().int(-1).long(-1n).int(0).int(3).int(3).ustring('/n').framed();
      const reply = new JuteWriter().int(xid).long(7n).int(0).buffer(new Uint8Array([1, 2])).framed();
      socket.write(notification);
      for (const byte of reply) socket.write(Buffer.from([byte]));
    });
    const events: Array<{ event: WatcherEvent; seq: number }> = [];
    const closed: string[] = [];
    const connection = await open(port, events, closed);
    expect(connection.session.sessionId).toBe(42n);
    const reply = await connection.request(1, 4, (w) => w.ustring('/n').bool(false));
    expect(reply.header).toEqual({ xid: 1, zxid: 7n, err: 0 });
    expect([...reply.body.buffer()!]).toEqual([1, 2]);
    expect(events).toEqual([{ event: { type: 'NodeDataChanged', state: 3, path: '/n' }, seq: 1 }]);
    expect(reply.seq).toBe(2);
    connection.close();
    expect(closed).toEqual(['closed by the client']);
  });

  it('ends the connection and fails what is pending with CONNECTIONLOSS on a reply out of order', async () => {
    const port = await scripted((socket, xid) => socket.write(new JuteWriter().int(xid + 100).long(1n).int(0).framed()));
    const closed: string[] = [];
    const connection = await open(port, [], closed);
    const reply = await connection.request(1, 3, (w) => w.ustring('/').bool(false));
    expect(reply.header.err).toBe(-4);
    expect(closed[0]).toMatch(/not the oldest pending/);
    expect(connection.open).toBe(false);
  });

  it('ends the connection on a frame past its bound', async () => {
    const port = await scripted((socket) => {
      const big = Buffer.alloc(8);
      big.writeInt32BE(1 << 30, 0);
      socket.write(big);
    });
    const closed: string[] = [];
    const connection = await open(port, [], closed, 1024);
    expect((await connection.request(1, 3, (w) => w.ustring('/').bool(false))).header.err).toBe(-4);
    expect(closed[0]).toMatch(/past the bound/);
  });
});

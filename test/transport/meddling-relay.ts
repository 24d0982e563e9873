/**
 * A man in the middle on one peer link (dialer → listener), as in the security review: it relays
 * the handshake untouched (it cannot forge one), then meddles with the frames after it. It reads
 * the outer framing only (a 4-byte length, then the body), which is what every frame and every
 * sealed record share, so it works on sealed and unsealed links alike.
 *
 * Meddling, applied to every connection while set:
 * - inject: right after the hello, a forged `msg` frame built by `forge(hello)`;
 * - replay: every message frame is sent twice;
 * - alter: one bit flipped in every message frame, near its end;
 * - reorder: message frames are sent in swapped pairs;
 * - drop: the first message frame of each connection is dropped, the rest pass.
 * "Message frames" are those of at least MESSAGE_BYTES_MIN (the test's messages; pings are
 * smaller). The listener → dialer direction passes untouched. close() leaves nothing open.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { encodeFrame, FRAME_HEADER_BYTES } from '../../src/transport/frame-codec.ts';

export type Meddling = 'pass' | 'inject' | 'replay' | 'alter' | 'reorder' | 'drop';

export const MESSAGE_BYTES_MIN = 100;

export interface Hello {
  readonly from: number;
  readonly to: number;
}

/** Splits a byte stream into whole frames (header included); a test tool, so it concatenates. */
class Splitter {
  private buffered = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const frames: Buffer[] = [];
    while (this.buffered.length >= FRAME_HEADER_BYTES) {
      const length = FRAME_HEADER_BYTES + this.buffered.readUInt32BE(0);
      if (this.buffered.length < length) break;
      frames.push(this.buffered.subarray(0, length));
      this.buffered = this.buffered.subarray(length);
    }
    return frames;
  }
}

export class MeddlingRelay {
  meddling: Meddling = 'pass';
  /** Frames meddled with so far. */
  meddled = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server, readonly port: number, private readonly targetPort: number,
    private readonly forge: (hello: Hello) => unknown) {
    server.on('connection', (client: Socket) => this.relay(client));
  }

  static async start(targetPort: number, forge: (hello: Hello) => unknown = () => 'injected'): Promise<MeddlingRelay> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new MeddlingRelay(server, (server.address() as { port: number }).port, targetPort, forge);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): Socket {
    this.sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    return socket;
  }

  private relay(client: Socket): void {
    const upstream = this.track(connect(this.targetPort, '127.0.0.1'));
    this.track(client);
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) a.on('close', () => b.destroy());
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const splitter = new Splitter();
    let index = 0;
    let messages = 0;
    let held: Buffer | undefined;
    client.on('data', (chunk: Buffer) => {
      for (const frame of splitter.push(chunk)) {
        const mode = this.meddling;
        if (index++ === 0) {
          upstream.write(frame);
          if (mode === 'inject') this.inject(upstream, frame);
          continue;
        }
        if (frame.length < MESSAGE_BYTES_MIN || mode === 'pass' || mode === 'inject') {
          upstream.write(frame);
          continue;
        }
        messages++;
        this.meddled++;
        if (mode === 'replay') {
          upstream.write(frame);
          upstream.write(frame);
        } else if (mode === 'alter') {
          const altered = Buffer.from(frame);
          altered[altered.length - 3]! ^= 0x01;
          upstream.write(altered);
        } else if (mode === 'reorder') {
          if (held === undefined) {
            held = frame;
          } else {
            upstream.write(frame);
            upstream.write(held);
            held = undefined;
          }
        } else if (messages > 1) {
          upstream.write(frame); // 'drop': only the first is lost
        }
      }
    });
  }

  private inject(upstream: Socket, helloFrame: Buffer): void {
    const hello = JSON.parse(helloFrame.subarray(FRAME_HEADER_BYTES).toString('utf8')) as Hello;
    upstream.write(encodeFrame({ type: 'msg', body: this.forge(hello) }));
    this.meddled++;
  }
}

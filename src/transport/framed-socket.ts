/**
 * A TCP socket that speaks frames: decodes what arrives, encodes what is written, and turns every
 * way a connection can end (peer close, socket error, bad frame, our own destroy) into exactly one
 * `onClose(reason)`. Its 'error' listener stays attached for the socket's whole life, so no error
 * event can go unhandled and crash the process.
 *
 * `onFrame` and `onClose` are swapped by whoever owns the connection (the handshake, then the
 * link). Frames are pulled one at a time and `onFrame` is read afresh for each, so a frame that
 * arrives in the same chunk as the end of the handshake goes to the link, not the handshake.
 *
 * Frames written in one turn of the event loop leave in one system call: the socket is corked at
 * the first write and uncorked on the next setImmediate (a Raft Ready's messages and the answers
 * to the requests of that turn: a syscall per frame was a tenth of a busy member's time).
 */
import type { Socket } from 'node:net';
import { FrameDecoder, FrameError, encodeFrame } from './frame-codec.ts';

export class FramedSocket {
  onFrame: (message: unknown) => void = () => {};
  onClose: (reason: string) => void = () => {};
  /** Bytes read from the socket so far (what the listener acknowledges). */
  bytesRead = 0;
  /** Bytes of frames handed to the socket so far. */
  bytesWritten = 0;
  private readonly decoder: FrameDecoder;
  private closedReason: string | undefined;
  private remoteLabel: string | undefined;
  private corked = false;

  constructor(readonly socket: Socket, maxFrameBytes: number) {
    this.decoder = new FrameDecoder({ maxFrameBytes });
    socket.setNoDelay(true);
    this.remoteLabel = remoteLabelOf(socket); // known at once for an accepted socket
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => this.destroy(`socket error ${error.code ?? error.message}`));
    socket.on('close', () => this.destroy('connection closed'));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** "host:port" of the other end, for logs (remembered: a destroyed socket forgets it). */
  get remote(): string {
    this.remoteLabel ??= remoteLabelOf(this.socket);
    return this.remoteLabel ?? 'unknown';
  }

  /** Bytes written but not yet handed to the kernel. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  set maxFrameBytes(value: number) {
    this.decoder.maxFrameBytes = value;
  }

  /** Encodes and writes one message; throws what encodeFrame throws. False once closed. */
  write(message: unknown, maxFrameBytes?: number): boolean {
    if (this.closed) return false;
    return this.writeFrame(encodeFrame(message, maxFrameBytes));
  }

  writeFrame(frame: Buffer): boolean {
    if (this.closed) return false;
    this.bytesWritten += frame.length;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame);
    return true;
  }

  /** Closes the connection at once (nothing buffered is flushed); the first reason wins. */
  destroy(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.socket.destroy();
    this.onClose(reason);
  }

  private receive(chunk: Buffer): void {
    this.bytesRead += chunk.length;
    this.decoder.push(chunk);
    while (!this.closed) {
      let frame;
      try {
        frame = this.decoder.next();
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        this.destroy(error.message);
        return;
      }
      if (frame === undefined) return;
      this.onFrame(frame.message);
    }
  }
}

function remoteLabelOf(socket: Socket): string | undefined {
  return socket.remoteAddress === undefined ? undefined : `${socket.remoteAddress}:${socket.remotePort}`;
}

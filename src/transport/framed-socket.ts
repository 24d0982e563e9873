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
 *
 * After seal() (the handshake on the shared secret succeeded) the frames of a turn leave in
 * sealed records, and every record read must open (frame-seal.ts); one that does not sets
 * `tampered` and closes the connection. Bytes counted (bytesRead, bytesWritten) are wire bytes.
 */
import type { Socket } from 'node:net';
import { FrameDecoder, FrameError, encodeFrame } from './frame-codec.ts';
import { RECORD_BODY_MAX, RecordOpener, RecordSealer, SealError, type LinkKeys } from './frame-seal.ts';

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
  private sealer: RecordSealer | undefined;
  private opener: RecordOpener | undefined;
  /** Sealed mode: the plaintext frames of opened records (the outer decoder reads records). */
  private inner: FrameDecoder | undefined;
  private tamperedNow = false;

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

  /** A record failed to open: something between the members injected or altered bytes. */
  get tampered(): boolean {
    return this.tamperedNow;
  }

  get sealed(): boolean {
    return this.sealer !== undefined;
  }

  /** Bytes written but not yet handed to the kernel. */
  get writableLength(): number {
    return this.socket.writableLength + (this.sealer?.pendingBytes ?? 0);
  }

  set maxFrameBytes(value: number) {
    (this.inner ?? this.decoder).maxFrameBytes = value;
  }

  /**
   * From the next frame on, both ways: writes are sealed with `keys.send`, and what is read must
   * open with `keys.receive`. Called between two frames (in onFrame, or before any is read).
   */
  seal(keys: LinkKeys): void {
    if (this.sealer !== undefined) throw new Error('a connection is sealed once');
    this.inner = new FrameDecoder({ maxFrameBytes: this.decoder.maxFrameBytes });
    this.decoder.maxFrameBytes = RECORD_BODY_MAX;
    this.sealer = new RecordSealer(keys.send);
    this.opener = new RecordOpener(keys.receive);
  }

  /** Encodes and writes one message; throws what encodeFrame throws. False once closed. */
  write(message: unknown, maxFrameBytes?: number): boolean {
    if (this.closed) return false;
    return this.writeFrame(encodeFrame(message, maxFrameBytes));
  }

  writeFrame(frame: Buffer): boolean {
    if (this.closed) return false;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => this.flush());
    }
    if (this.sealer !== undefined) {
      this.sealer.push(frame);
    } else {
      this.bytesWritten += frame.length;
      this.socket.write(frame);
    }
    return true;
  }

  /** Closes the connection at once (nothing buffered is flushed); the first reason wins. */
  destroy(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.sealer?.discard();
    this.socket.destroy();
    this.onClose(reason);
  }

  /** The end of a turn: seals what it wrote (if sealed) and lets it all go in one system call. */
  private flush(): void {
    this.corked = false;
    if (this.sealer !== undefined && !this.closed) {
      for (const record of this.sealer.drain()) {
        this.bytesWritten += record.length;
        this.socket.write(record);
      }
    }
    this.socket.uncork();
  }

  private receive(chunk: Buffer): void {
    this.bytesRead += chunk.length;
    this.decoder.push(chunk);
    while (!this.closed) {
      let message: unknown;
      try {
        const frame = this.inner === undefined ? this.decoder.next() : this.nextSealed();
        if (frame === undefined) return;
        message = frame.message;
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        if (error instanceof SealError) this.tamperedNow = true;
        this.destroy(error.message);
        return;
      }
      this.onFrame(message);
    }
  }

  /** The next plaintext frame, opening records as needed; throws SealError for one that does not open. */
  private nextSealed(): { readonly message: unknown } | undefined {
    const inner = this.inner!;
    for (;;) {
      const frame = inner.next();
      if (frame !== undefined) return frame;
      const record = this.decoder.nextBody();
      if (record === undefined) return undefined;
      inner.push(this.opener!.open(record));
    }
  }
}

function remoteLabelOf(socket: Socket): string | undefined {
  return socket.remoteAddress === undefined ? undefined : `${socket.remoteAddress}:${socket.remotePort}`;
}

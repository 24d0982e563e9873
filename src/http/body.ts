/** Reading request bodies within a size limit (413 past it, before buffering all of it). */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { zkError } from '../core/errors.ts';
import { ClientAborted, isClientAbort } from './edge/client-abort.ts';
import { RequestRejected } from './errors.ts';
import { incomingOf } from './request-env.ts';

/** The largest body any write takes: a multi's (its ops' data, base64 at worst, and the JSON around them). */
export const multiBodyLimit = (maxDataBytes: number): number => maxDataBytes * 2 + 65536;

function tooLarge(limit: number): RequestRejected {
  return new RequestRejected({ ...zkError('BADARGUMENTS', `request body is over the ${limit}-byte limit`), tooLarge: true });
}

/**
 * Reads the body straight from the socket's stream: no web Request is built for it (profiles
 * showed that cost), and no async iterator either (its promise per chunk showed up too).
 */
export function readIncoming(incoming: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      done();
      incoming.resume(); // drain the rest; the answer is 413
      reject(tooLarge(limit));
    };
    const onEnd = () => {
      done();
      const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      resolve(new Uint8Array(whole.buffer, whole.byteOffset, whole.length));
    };
    const onError = (error: Error) => {
      done();
      reject(isClientAbort(error) ? new ClientAborted() : error);
    };
    // Closed before its end: the client went away mid-body.
    const onClose = () => onError(new ClientAborted());
    incoming.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/** Refuses a body whose declared length is over `limit` before reading any of it. */
export function checkDeclaredLength(declared: string | undefined, limit: number): void {
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
}

export async function readBody(c: Context, limit: number): Promise<Uint8Array> {
  checkDeclaredLength(c.req.header('content-length'), limit);
  const incoming = incomingOf(c);
  if (incoming && !incoming.readableEnded && incoming.readableLength === 0 && !incoming.readableFlowing) {
    return readIncoming(incoming, limit);
  }
  const body = c.req.raw.body;
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (error) {
      throw isClientAbort(error) ? new ClientAborted() : error;
    }
    const { done, value } = chunk;
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : new Uint8Array(Buffer.concat(chunks));
}

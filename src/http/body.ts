/** Reading request bodies within a size limit (413 past it, before buffering all of it). */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { zkError } from '../core/errors.ts';
import { RequestRejected } from './errors.ts';

function tooLarge(limit: number): RequestRejected {
  return new RequestRejected({ ...zkError('BADARGUMENTS', `request body is over the ${limit}-byte limit`), tooLarge: true });
}

/** The Node request under @hono/node-server (absent when the app is called in-process). */
function incomingOf(c: Context): IncomingMessage | undefined {
  const env = c.env as { incoming?: IncomingMessage } | undefined;
  return env?.incoming;
}

/** Reads the body straight from the socket's stream: no web Request is built for it (profiles showed that cost). */
export function readIncoming(incoming: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        incoming.off('data', onData); // the rest drains unread; the answer is 413
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    incoming.on('data', onData);
    incoming.once('error', reject);
    incoming.once('close', () => {
      if (!incoming.complete) reject(new Error('the client went away before sending the whole body'));
    });
    incoming.once('end', () => {
      const whole = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      resolve(new Uint8Array(whole.buffer, whole.byteOffset, whole.length));
    });
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
    const { done, value } = await reader.read();
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

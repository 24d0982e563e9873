/** Reading request bodies within a size limit (413 past it, before buffering all of it). */
import type { Context } from 'hono';
import { zkError } from '../core/errors.ts';
import { RequestRejected } from './errors.ts';

function tooLarge(limit: number): RequestRejected {
  return new RequestRejected({ ...zkError('BADARGUMENTS', `request body is over the ${limit}-byte limit`), tooLarge: true });
}

export async function readBody(c: Context, limit: number): Promise<Uint8Array> {
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
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

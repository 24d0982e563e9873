/**
 * The leader's side of forwarding: a follower's request runs through this node's own app, so the
 * answer is byte for byte what a client sending it here would get (errors, Zk-Request-Id dedup,
 * session checks included). No socket and no HTTP parsing: the request is built in-process and
 * its body handed over as read (request-env.ts).
 */
import type { Hono } from 'hono';
import type { ForwardedRequest, ForwardedResponse } from '../node/forward-codec.ts';
import type { ForwardedHandler } from '../node/peer-link.ts';
import type { ForwardedEnv } from './request-env.ts';
import { RELAYED } from './forward.ts';

const EMPTY = new Uint8Array(0);

/**
 * What the app reads of a request — url, method, headers — without a full web Request (undici's
 * constructor, with its AbortSignal, was a third of a forwarded write's cost on the leader). The
 * body never comes from here: readBody takes the forwarded one.
 */
function requestLike(url: string, method: string, headers: ReadonlyArray<readonly [string, string]>): Request {
  const view = { url, method, headers: new Headers(headers as Array<[string, string]>), body: null, bodyUsed: false };
  return view as unknown as Request;
}

/**
 * The response's body. Under @hono/node-server a Response made from a string or bytes keeps them
 * as given (its `cache` entry: [status, body, headers]) until something asks for a stream;
 * taken from there, no web Response and stream are built (that was half of a forward's cost on
 * the leader). Anything else is read the standard way.
 */
async function bodyOf(response: Response): Promise<Uint8Array> {
  const key = Object.getOwnPropertySymbols(response).find((symbol) => symbol.description === 'cache');
  const cache: unknown = key === undefined ? undefined : (response as unknown as Record<symbol, unknown>)[key];
  if (Array.isArray(cache) && cache.length === 3 && cache[0] === response.status) {
    const body: unknown = cache[1];
    if (body === null) return EMPTY;
    if (typeof body === 'string') return Buffer.from(body, 'utf8');
    if (body instanceof Uint8Array) return body;
  }
  return response.body === null ? EMPTY : new Uint8Array(await response.arrayBuffer());
}

export function answerForwardedWrites(app: Hono, origin: string): ForwardedHandler {
  return async function answerForwarded(request: ForwardedRequest): Promise<ForwardedResponse> {
    const { method, target, headers, body } = request;
    const env: ForwardedEnv = { forwarded: { target, body } };
    const response = await app.fetch(requestLike(`${origin}${target}`, method, headers), env);
    const answered: Array<[string, string]> = [];
    response.headers.forEach((value, name) => {
      if (name === 'zk-zxid' || RELAYED.has(name)) answered.push([name, value]);
    });
    const bytes = method === 'HEAD' ? EMPTY : await bodyOf(response);
    return { status: response.status, headers: answered, body: bytes };
  };
}

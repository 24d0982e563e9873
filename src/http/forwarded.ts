/**
 * The leader's side of forwarding: a follower's request is answered byte for byte as a client
 * sending it here would be (errors, Zk-Request-Id dedup, session checks included). A plain znode
 * write — no session, no Zk-Min-Zxid, no watch or consistency — runs its call (znode-calls.ts)
 * directly, as the direct path for clients does (fast-path.ts): Hono's request, response and
 * middleware chain cost more than the write. Everything else runs through this node's own app,
 * built in-process with its body handed over as read (request-env.ts). No socket, no HTTP parsing.
 */
import type { Hono } from 'hono';
import type { ForwardedRequest, ForwardedResponse } from '../node/forward-codec.ts';
import type { ForwardedHandler } from '../node/peer-link.ts';
import type { AppDeps } from './app-deps.ts';
import { checkDeclaredLength } from './body.ts';
import { answerDirect, directRequestOf, PlainCallRequest } from './fast-path.ts';
import { RELAYED } from './forward.ts';
import { jsonBodyOf, replyHeaders } from './reply.ts';
import type { ForwardedEnv } from './request-env.ts';

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

function headerOf(request: ForwardedRequest, name: string): string | undefined {
  for (const [n, value] of request.headers) if (n === name) return value;
  return undefined;
}

/** A forwarded request as a znode call's request: its body is already read, it acts for no session. */
class ForwardedCallRequest extends PlainCallRequest {
  constructor(private readonly request: ForwardedRequest, rawPath: string, search: string) {
    super(request.method, rawPath, search);
  }

  header(name: string): string | undefined {
    return headerOf(this.request, name);
  }

  readBody(limit: number): Promise<Uint8Array> {
    // The follower read all of it (and dropped Content-Length): its length is the declared one.
    checkDeclaredLength(String(this.request.body.length), limit);
    return Promise.resolve(this.request.body);
  }
}

/**
 * A plain znode write run by its call (as the direct path runs it), answered as the app would.
 * (Reads come here only to set a watch, which directRequestOf leaves to the app.)
 */
async function answerPlain(deps: AppDeps, request: ForwardedRequest): Promise<ForwardedResponse | undefined> {
  const { method, target } = request;
  const direct = directRequestOf(deps, method, target, (name) => headerOf(request, name), true);
  if (!direct) return undefined;
  const reply = await answerDirect(deps, direct, new ForwardedCallRequest(request, direct.rawPath, direct.search), target);
  const answered: Array<[string, string]> = Object.entries(replyHeaders(reply));
  answered.push(['zk-zxid', String(deps.node.host.appliedZxid)]);
  const json = jsonBodyOf(reply);
  const body = json !== undefined ? Buffer.from(json, 'utf8') : reply.bytes ?? EMPTY;
  return { status: reply.status, headers: answered, body };
}

/** Answers forwarded writes: plain znode writes by their calls, the rest through `app`. */
export function answerForwardedWrites(deps: AppDeps, app: Hono, origin: string): ForwardedHandler {
  return async function answerForwarded(request: ForwardedRequest): Promise<ForwardedResponse> {
    const plain = await answerPlain(deps, request);
    if (plain) return plain;
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

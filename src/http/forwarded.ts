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
import { RequestRejected } from './errors.ts';
import { RELAYED } from './forward.ts';
import { errorReply, INTERNAL_ERROR, replyHeaders, type Reply } from './reply.ts';
import type { ForwardedEnv } from './request-env.ts';
import { ZNODE_CALLS, ZNODES, type CallRequest, type ZnodeCall } from './znode-calls.ts';
import { depsOf } from './app.ts';

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

/** Headers and query parameters whose handling only the app has (sessions, waits, watches, quorum reads). */
const NEEDS_APP = new Set(['zk-session-id', 'zk-min-zxid', 'origin']);
const NEEDS_APP_QUERY = /(^|&)(watch|consistency)(=|&|$)/;
const WRITES = new Set(['POST', 'PUT', 'DELETE']);

/** A forwarded request as a znode call's request: its body is already read, it acts for no session. */
class ForwardedCallRequest implements CallRequest {
  private params: URLSearchParams | undefined;

  constructor(private readonly request: ForwardedRequest, readonly rawPath: string, private readonly search: string) {}

  get method(): string {
    return this.request.method;
  }

  query(name: string): string | undefined {
    if (this.search === '') return undefined;
    this.params ??= new URLSearchParams(this.search);
    return this.params.get(name) ?? undefined;
  }

  header(name: string): string | undefined {
    for (const [n, value] of this.request.headers) if (n === name) return value;
    return undefined;
  }

  readBody(limit: number): Promise<Uint8Array> {
    // The follower read all of it (and dropped Content-Length): its length is the declared one.
    checkDeclaredLength(String(this.request.body.length), limit);
    return Promise.resolve(this.request.body);
  }

  session(): number {
    return 0;
  }
}

interface Plain {
  readonly call: ZnodeCall;
  readonly req: ForwardedCallRequest;
  /** The route's name in metrics, as Hono names it. */
  readonly route: string;
}

/** The call for a plain znode write, or undefined when the app must answer. */
function plainWrite(deps: AppDeps, request: ForwardedRequest): Plain | undefined {
  const { method, target, headers } = request;
  if (!WRITES.has(method) || deps.node.host.status().role !== 'leader') return undefined;
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const search = q === -1 ? '' : target.slice(q + 1);
  const under = rawPath.length > ZNODES.length;
  if (!rawPath.startsWith(ZNODES) || (under && rawPath[ZNODES.length] !== '/') || rawPath.includes('//')) return undefined;
  if (NEEDS_APP_QUERY.test(search) || headers.some(([name]) => NEEDS_APP.has(name))) return undefined;
  const call = ZNODE_CALLS[method];
  return call && { call, req: new ForwardedCallRequest(request, rawPath, search), route: under ? `${ZNODES}/*` : ZNODES };
}

async function answerPlain(deps: AppDeps, { call, req, route }: Plain): Promise<ForwardedResponse> {
  const started = performance.now();
  let reply: Reply;
  try {
    reply = await call(deps, req);
  } catch (error) {
    if (error instanceof RequestRejected) {
      reply = errorReply(error.error, req.method);
    } else {
      deps.logger.error({ err: error, method: req.method, url: req.rawPath, event: 'request-failed' }, 'request failed');
      reply = INTERNAL_ERROR;
    }
  }
  const headers: Array<[string, string]> = Object.entries(replyHeaders(reply));
  headers.push(['zk-zxid', String(deps.node.host.appliedZxid)]);
  let body: Uint8Array = EMPTY;
  if (reply.json !== undefined) body = Buffer.from(JSON.stringify(reply.json), 'utf8');
  else if (reply.bytes !== undefined) body = reply.bytes;
  deps.node.metrics.recordRequest(req.method, route, reply.status, (performance.now() - started) / 1000);
  return { status: reply.status, headers, body };
}

/** Answers forwarded writes: plain znode writes directly when `deps` are given, the rest through `app`. */
export function answerForwardedWrites(app: Hono, origin: string, deps = depsOf(app)): ForwardedHandler {
  return async function answerForwarded(request: ForwardedRequest): Promise<ForwardedResponse> {
    const plain = deps && plainWrite(deps, request);
    if (plain) return answerPlain(deps, plain);
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

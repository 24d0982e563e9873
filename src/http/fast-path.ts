/**
 * The direct path: plain znode requests — getData, exists, stat, getChildren, create, setData,
 * delete, with no session, watch, Origin, Zk-Min-Zxid or consistency to honour — are answered
 * without Hono's per-request machinery (a web-style request and response, the middleware chain),
 * which profiles showed costing more than the call itself. This file decides which requests are
 * plain (`directRequestOf`) and runs them (`answerDirect`: here, or relayed to the leader for a
 * write on a follower) for three carriers: the wire path (wire/), connections node:http has
 * (`withFastPath`) and writes forwarded by followers (forwarded.ts). They run the same calls as
 * the Hono routes (znode-calls.ts) and answer the same bytes; everything else, and every request
 * while CORS is configured, goes to the Hono app.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppDeps } from './app-deps.ts';
import { checkDeclaredLength, readIncoming } from './body.ts';
import { RequestRejected } from './errors.ts';
import { FORWARDED_HEADER, relayPlainWrite } from './forward.ts';
import { errorReply, INTERNAL_ERROR, jsonBodyOf, replyHeaders, type Reply } from './reply.ts';
import { children, stat, ZNODE_CALLS, ZNODES, type CallRequest, type ZnodeCall } from './znode-calls.ts';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Headers that ask for what only the Hono app does (sessions, waits, origin checks). */
const NEEDS_APP = ['origin', 'zk-min-zxid', 'zk-session-id'];
/** Query parameters likewise: watches are writes, linearizable reads wait on a quorum. */
const NEEDS_APP_QUERY = /(^|&)(watch|consistency)(=|&|$)/;
const WRITES = new Set(['POST', 'PUT', 'DELETE']);

export interface Route {
  readonly call: ZnodeCall;
  /** The route's name in metrics, as Hono names it. */
  readonly name: string;
}

interface Prefix {
  readonly prefix: string;
  /** By method: the route of the prefix itself, and of a path below it. */
  readonly exact: ReadonlyMap<string, Route>;
  readonly below: ReadonlyMap<string, Route>;
}

function prefix(prefix: string, calls: Readonly<Record<string, ZnodeCall>>): Prefix {
  const routes = (name: string) => new Map(Object.entries(calls).map(([method, call]) => [method, { call, name }]));
  return { prefix, exact: routes(prefix), below: routes(`${prefix}/*`) };
}

/** Each prefix's calls by method, made once (a route per request was an allocation per request). */
const PREFIXES: readonly Prefix[] = [
  prefix(ZNODES, ZNODE_CALLS), prefix('/v1/stat', { GET: stat }), prefix('/v1/children', { GET: children }),
];

/** The call for a request target's path and method, or undefined when the Hono app must answer. */
function routeOf(method: string, path: string): Route | undefined {
  for (const { prefix, exact, below } of PREFIXES) {
    if (!path.startsWith(prefix)) continue;
    if (path.length === prefix.length) return exact.get(method);
    if (path[prefix.length] === '/') return below.get(method);
  }
  return undefined;
}

/** A request the direct path takes: its route and its target split at the `?`. */
export interface DirectRequest {
  readonly route: Route;
  readonly rawPath: string;
  readonly search: string;
  /** A write on a follower: the leader it is relayed to (forward.ts), instead of running here. */
  readonly leader?: number;
}

/**
 * The direct call for a request (its method, target and a header lookup by lower-case name),
 * or undefined when the Hono app must answer it.
 */
export function directRequestOf(
  deps: AppDeps, method: string, url: string, header: (name: string) => string | string[] | undefined, forwarded = false,
): DirectRequest | undefined {
  // A forwarded request (from a follower: `forwarded`) is checked for everything but its mark.
  if (!forwarded && (deps.config.corsOrigins.length > 0 || header(FORWARDED_HEADER) !== undefined)) return undefined;
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const search = q === -1 ? '' : url.slice(q + 1);
  const route = rawPath.startsWith('/v1/') && !rawPath.includes('//') ? routeOf(method, rawPath) : undefined;
  if (route === undefined || NEEDS_APP.some((name) => header(name) !== undefined) || NEEDS_APP_QUERY.test(search)) return undefined;
  const { node } = deps;
  if (!WRITES.has(method) || !node.peers.clustered) return { route, rawPath, search };
  const { role, leader } = node.host.status();
  if (role === 'leader') return { route, rawPath, search };
  // A follower relays a plain write; with no leader known (or a forwarded one) the app answers.
  return forwarded || leader === 0 ? undefined : { route, rawPath, search, leader };
}

/** Runs a direct call to its reply (errors become their answers) and counts it in the metrics. */
export function answerDirect(deps: AppDeps, direct: DirectRequest, req: CallRequest, url: string): Promise<Reply> {
  const started = performance.now();
  const { route } = direct;
  const { method } = req;
  const counted = (reply: Reply): Reply => {
    deps.node.metrics.recordRequest(method, route.name, reply.status, (performance.now() - started) / 1000);
    return reply;
  };
  const answered = direct.leader === undefined ? route.call(deps, req) : relayPlainWrite(deps, direct.leader, req, url);
  return answered.then(counted, (error: unknown) => {
    if (error instanceof RequestRejected) return counted(errorReply(error.error, method));
    deps.logger.error({ err: error, method, url, event: 'request-failed' }, 'request failed');
    return counted(INTERNAL_ERROR);
  });
}

/** What every direct request answers the same way: its query, parsed on first use, and no session. */
export abstract class PlainCallRequest implements CallRequest {
  private params: URLSearchParams | undefined;

  constructor(readonly method: string, readonly rawPath: string, private readonly search: string) {}

  query(name: string): string | undefined {
    if (this.search === '') return undefined;
    this.params ??= new URLSearchParams(this.search);
    return this.params.get(name) ?? undefined;
  }

  session(): number {
    return 0;
  }

  abstract header(name: string): string | undefined;
  abstract readBody(limit: number): Uint8Array | Promise<Uint8Array>;
}

/** A Node request as a call's request (a class, not closures: no allocations per accessor). */
class NodeCallRequest extends PlainCallRequest {
  constructor(private readonly req: IncomingMessage, method: string, rawPath: string, search: string) {
    super(method, rawPath, search);
  }

  header(name: string): string | undefined {
    const value = this.req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  readBody(limit: number): Promise<Uint8Array> {
    checkDeclaredLength(this.req.headers['content-length'], limit);
    return readIncoming(this.req, limit);
  }
}

function send(res: ServerResponse, reply: Reply, zxid: number): void {
  const headers = replyHeaders(reply);
  headers['zk-zxid'] = String(Math.max(zxid, reply.zxid ?? 0));
  let body: string | Buffer | undefined = jsonBodyOf(reply);
  if (body === undefined && reply.bytes !== undefined) body = Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength);
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(reply.status, headers);
  res.end(body);
}

/**
 * Wraps the Hono app's listener: requests the direct path can answer are answered here, the
 * rest are passed on untouched. (Connections the wire layer handed to node:http come here.)
 */
export function withFastPath(deps: AppDeps, app: RequestListener): RequestListener {
  const { node, logger } = deps;
  return (req, res) => {
    const url = req.url ?? '';
    const method = req.method ?? '';
    const direct = directRequestOf(deps, method, url, (name) => req.headers[name]);
    if (!direct) {
      app(req, res);
      return;
    }
    answerDirect(deps, direct, new NodeCallRequest(req, method, direct.rawPath, direct.search), url)
      .then((reply) => send(res, reply, node.host.appliedZxid))
      .catch((error: unknown) => {
        logger.error({ err: error, method, url, event: 'response-failed' }, 'could not send the answer');
        res.destroy();
      });
  };
}

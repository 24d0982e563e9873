/**
 * The direct path: plain znode requests — getData, exists, stat, getChildren, create, setData,
 * delete, with no session, Origin or Zk-Min-Zxid to honour — are answered without Hono's
 * per-request machinery (a web-style request and response, the middleware chain), which
 * profiles showed costing more than the call itself. The routes it takes are the route table's
 * direct ones (route-table.ts); it runs the same znode calls (znode-calls.ts) against the same
 * backend as the Hono routes, for two carriers: the wire path (wire/) and connections node:http
 * has (`withFastPath`). Everything else, and every request while CORS is configured, goes to
 * the Hono app.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller } from '../backend/backend.ts';
import type { AppDeps } from './app-deps.ts';
import { checkDeclaredLength, readIncoming } from './body.ts';
import { callerOf } from './caller.ts';
import { RequestRejected } from './errors.ts';
import { answerZxid, errorReply, INTERNAL_ERROR, jsonBodyOf, replyHeaders, type Reply } from './reply.ts';
import { directRouteOf, type DirectRoute } from './route-table.ts';
import type { CallRequest } from './znode-calls.ts';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Headers that ask for what only the Hono app does (sessions, waits, origin checks). */
const NEEDS_APP = ['origin', 'zk-min-zxid', 'zk-session-id'];

/** A request the direct path takes: its route and its target split at the `?`. */
export interface DirectRequest {
  readonly route: DirectRoute;
  readonly rawPath: string;
  readonly search: string;
}

/**
 * The direct call for a request (its method, target and a header lookup by lower-case name),
 * or undefined when the Hono app must answer it.
 */
export function directRequestOf(
  deps: AppDeps, method: string, url: string, header: (name: string) => string | string[] | undefined,
): DirectRequest | undefined {
  if (deps.config.corsOrigins.length > 0) return undefined;
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const search = q === -1 ? '' : url.slice(q + 1);
  const route = rawPath.startsWith('/v1/') && !rawPath.includes('//') ? directRouteOf(method, rawPath) : undefined;
  if (route === undefined || NEEDS_APP.some((name) => header(name) !== undefined)) return undefined;
  return { route, rawPath, search };
}

/** Runs a direct call to its reply (errors become their answers) and counts it in the metrics. */
export function answerDirect(deps: AppDeps, direct: DirectRequest, req: CallRequest, url: string): Promise<Reply> {
  const started = performance.now();
  const { route } = direct;
  const { method } = req;
  const counted = (reply: Reply): Reply => {
    deps.metrics.recordRequest(method, route.name, reply.status, (performance.now() - started) / 1000);
    return reply;
  };
  return route.call(deps, req).then(counted, (error: unknown) => {
    if (error instanceof RequestRejected) return counted(errorReply(error.error, method));
    deps.logger.error({ err: error, method, url, event: 'request-failed' }, 'request failed');
    return counted(INTERNAL_ERROR);
  });
}

/** What every direct request answers the same way: its query, parsed on first use, no session, its caller. */
export abstract class PlainCallRequest implements CallRequest {
  private params: URLSearchParams | undefined;
  private from: Caller | undefined;

  constructor(readonly method: string, readonly rawPath: string, private readonly search: string) {}

  query(name: string): string | undefined {
    if (this.search === '') return undefined;
    this.params ??= new URLSearchParams(this.search);
    return this.params.get(name) ?? undefined;
  }

  session(): number {
    return 0;
  }

  caller(): Caller {
    return (this.from ??= callerOf({ header: (name) => this.header(name), address: this.address() }));
  }

  abstract header(name: string): string | undefined;
  abstract readBody(limit: number): Uint8Array | Promise<Uint8Array>;
  protected abstract address(): string | undefined;
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

  protected address(): string | undefined {
    return this.req.socket.remoteAddress;
  }
}

function send(res: ServerResponse, reply: Reply, appliedZxid: number): void {
  const headers = replyHeaders(reply);
  headers['zk-zxid'] = String(answerZxid(appliedZxid, reply));
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
  const { backend, logger } = deps;
  return (req, res) => {
    const url = req.url ?? '';
    const method = req.method ?? '';
    const direct = directRequestOf(deps, method, url, (name) => req.headers[name]);
    if (!direct) {
      app(req, res);
      return;
    }
    answerDirect(deps, direct, new NodeCallRequest(req, method, direct.rawPath, direct.search), url)
      .then((reply) => send(res, reply, backend.appliedZxid))
      .catch((error: unknown) => {
        logger.error({ err: error, method, url, event: 'response-failed' }, 'could not send the answer');
        res.destroy();
      });
  };
}

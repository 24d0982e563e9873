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
import { decimal } from '../core/decimal.ts';
import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticated, Credentials } from '../auth/authenticator.ts';
import type { Caller } from '../backend/backend.ts';
import type { AppDeps } from './app-deps.ts';
import { checkDeclaredLength, readIncoming } from './body.ts';
import { authenticateRequest } from './caller.ts';
import { CLIENT_CLOSED_STATUS, isClientAbort } from './edge/client-abort.ts';
import { edgeRefusal } from './edge/edge-guard.ts';
import { loggableTarget } from './edge/loggable-target.ts';
import { QueryParams } from './edge/query.ts';
import { RequestRejected } from './errors.ts';
import { answerZxid, errorReply, INTERNAL_ERROR, jsonBodyOf, replyHeaders, type Reply } from './reply.ts';
import { directRouteOf, type DirectRoute } from './route-table.ts';
import { verifiedPeerCertificateOf } from '../tls/peer-certificate.ts';
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

/** What a request the client abandoned is answered (to no one) and counted with. */
const CLIENT_CLOSED: Reply = { status: CLIENT_CLOSED_STATUS };

/**
 * Runs a direct call to its reply (errors become their answers) and counts it in the metrics.
 * The edge checks (target and Host, edge/edge-guard.ts) run first, here, for both direct
 * carriers: `url` is the request target as sent.
 */
export function answerDirect(deps: AppDeps, direct: DirectRequest, req: PlainCallRequest, url: string): Promise<Reply> {
  const started = performance.now();
  const { route } = direct;
  const { method } = req;
  const counted = (reply: Reply): Reply => {
    deps.metrics.recordRequest(method, route.name, reply.status, (performance.now() - started) / 1000);
    return reply;
  };
  const failed = (error: unknown) => {
    if (error instanceof RequestRejected) return counted(errorReply(error.error, method));
    if (isClientAbort(error)) {
      deps.logger.debug({ method, url: loggableTarget(url), reason: String(error), event: 'client-aborted' }, 'the client went away mid-request');
      return counted(CLIENT_CLOSED);
    }
    deps.logger.error({ err: error, method, url: loggableTarget(url), event: 'request-failed' }, 'request failed');
    return counted(INTERNAL_ERROR);
  };
  const refused = edgeRefusal(deps.config, method, url, req.header('host') ?? req.header(':authority'));
  if (refused) return Promise.resolve(counted(errorReply(refused, method)));
  const run = (answer: Authenticated): Promise<Reply> => {
    if ('code' in answer) {
      // A challenge invites credentials: for a refused credential, not for a caller over its rate.
      const challenge = answer.code === 'AUTHFAILED' ? { challenge: deps.authenticator.challenge } : {};
      return Promise.resolve(counted({ ...errorReply(answer, method), ...challenge }));
    }
    req.authenticated(answer);
    return route.call(deps, req).then(counted, failed);
  };
  const answer = authenticateRequest(deps, req.credentials(), direct.rawPath);
  return answer instanceof Promise ? answer.then(run, failed) : run(answer);
}

/** What every direct request answers the same way: its query, parsed on first use, no session, its caller. */
export abstract class PlainCallRequest implements CallRequest {
  private readonly params: QueryParams;
  private from: Caller | undefined;

  constructor(readonly method: string, readonly rawPath: string, search: string) {
    this.params = new QueryParams(search);
  }

  /** Decoded as the app decodes it (edge/query.ts). */
  query(name: string): string | undefined {
    return this.params.get(name);
  }

  session(): number {
    return 0;
  }

  caller(): Caller {
    if (this.from === undefined) throw new Error('a direct request reached its call without the authenticate step');
    return this.from;
  }

  /** What the authenticate step reads. */
  credentials(): Credentials {
    return { authorization: this.header('authorization'), address: this.address(), certificate: this.certificate() };
  }

  authenticated(caller: Caller): void {
    this.from = caller;
  }

  abstract header(name: string): string | undefined;
  abstract readBody(limit: number): Uint8Array | Promise<Uint8Array>;
  protected abstract address(): string | undefined;
  /** The connection's client certificate the CA verified (TLS carriers only). */
  protected certificate(): X509Certificate | undefined {
    return undefined;
  }
}

/** A Node request as a call's request (a class, not closures: no allocations per accessor). */
class NodeCallRequest extends PlainCallRequest {
  constructor(private readonly req: IncomingMessage, method: string, rawPath: string, search: string) {
    super(method, rawPath, search);
  }

  header(name: string): string | undefined {
    // node:http keeps the first of repeated Hosts; the app sees them joined. Joined here too, so
    // the edge refuses a repeated Host on every carrier (the wire path hands those to node:http).
    if (name === 'host') return this.req.headersDistinct?.host?.join(', ') ?? this.req.headers.host;
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

  protected override certificate(): X509Certificate | undefined {
    return verifiedPeerCertificateOf(this.req);
  }
}

function send(res: ServerResponse, reply: Reply, appliedZxid: number): void {
  const headers = replyHeaders(reply);
  headers['zk-zxid'] = decimal(answerZxid(appliedZxid, reply));
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
        if (isClientAbort(error) || res.destroyed) logger.debug({ method, url: loggableTarget(url), reason: String(error), event: 'client-aborted' }, 'the client went away before its answer');
        else logger.error({ err: error, method, url: loggableTarget(url), event: 'response-failed' }, 'could not send the answer');
        res.destroy();
      });
  };
}

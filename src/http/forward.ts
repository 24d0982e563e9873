/**
 * Any node takes any request: a write that reaches a follower is sent to the leader over the
 * peer link as it came (method, target, headers, the body already read), the leader runs it
 * through its own HTTP API (forwarded.ts), and its answer is relayed once this node has applied
 * the write too, so the client's next read here sees its write.
 * Watches are replicated, so setting one is a write too: a read with watch=true, addWatch and
 * removeWatches go to the leader. Other reads and the streams stay local.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { zkError, type ZkError } from '../core/errors.ts';
import type { ForwardedRequest } from '../node/forward-codec.ts';
import type { AppDeps } from './app-deps.ts';
import { multiBodyLimit, readBody } from './body.ts';
import { errorResponse } from './errors.ts';
import { ZNODE_READS } from './linearizable.ts';
import { errorReply, type Reply } from './reply.ts';
import type { CallRequest } from './znode-calls.ts';
import { incomingOf, rawTarget } from './request-env.ts';

/** Writes: what only the leader can order (session keepalives included: only it expires sessions). */
const WRITES: Array<[RegExp, readonly string[]]> = [
  [/^\/v1\/znodes(\/|$)/, ['POST', 'PUT', 'DELETE']],
  [/^\/v1\/multi\/?$/, ['POST']],
  [/^\/v1\/sessions\/?$/, ['POST']],
  [/^\/v1\/sessions\/[^/]+\/?$/, ['DELETE']],
  [/^\/v1\/sessions\/[^/]+\/keepalive\/?$/, ['POST']],
  [/^\/v1\/sessions\/[^/]+\/watches\/?$/, ['POST', 'DELETE']],
];

/** Marks a forwarded request, so a node that is no longer leader answers it rather than forwarding again. */
export const FORWARDED_HEADER = 'zk-forwarded-by';
/** Hop-by-hop headers, and Origin: this node already checked it (see originGuard in app.ts). */
const NOT_FORWARDED = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'origin', FORWARDED_HEADER]);
/** The leader's response headers a follower passes on (Zk-Zxid and the rest are its own). */
export const RELAYED = new Set(['content-type', 'retry-after', 'location', 'etag']);
const EMPTY = new Uint8Array(0);

/**
 * Responses relayed before this member applied the write: their Zk-Zxid must still cover it, or
 * a client reading here with that Zk-Min-Zxid would not wait for its own write (app.ts reads it).
 */
export const relayedZxid = new WeakMap<Request, number>();

export function isWrite(method: string, pathname: string, watch: boolean): boolean {
  if (watch && (method === 'GET' || method === 'HEAD') && ZNODE_READS.test(pathname)) return true;
  return WRITES.some(([pattern, methods]) => methods.includes(method) && pattern.test(pathname));
}

export function forwardWrites(deps: AppDeps, urlPath: (c: Context) => string): MiddlewareHandler {
  return async function forwardToLeader(c, next) {
    const { node } = deps;
    if (!node.peers.clustered || !isWrite(c.req.method, urlPath(c), c.req.query('watch') === 'true')) return next();
    const status = node.host.status();
    if (status.role === 'leader') return next();
    if (c.req.header(FORWARDED_HEADER) !== undefined) {
      return errorResponse(c, zkError('CONNECTIONLOSS', 'this member is no longer the leader; retry'));
    }
    if (status.leader === 0) return errorResponse(c, zkError('CONNECTIONLOSS', 'no leader right now (an election is under way); retry'));
    return forward(c, deps, status.leader);
  };
}

/** The request's end-to-end headers, lower-case, and who forwarded it. */
function forwardedHeaders(c: Context, selfId: number): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  const incoming = incomingOf(c);
  if (incoming) {
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (value !== undefined && !NOT_FORWARDED.has(name)) headers.push([name, Array.isArray(value) ? value.join(', ') : value]);
    }
  } else {
    c.req.raw.headers.forEach((value, name) => {
      if (!NOT_FORWARDED.has(name)) headers.push([name, value]);
    });
  }
  headers.push([FORWARDED_HEADER, String(selfId)]);
  return headers;
}

/** The leader's answer to a forwarded request, as this member passes it on. */
interface Relayed {
  readonly status: number;
  /** The leader's headers this member passes on (RELAYED). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
  /** Set when this member had not applied the write within the bound: the answer must carry it. */
  readonly unappliedZxid?: number;
}

/** Sends a request to the leader and waits (bounded) until this member applied its write. */
async function relay(deps: AppDeps, leader: number, request: ForwardedRequest): Promise<Relayed | ZkError> {
  const outcome = await deps.node.peers.forward(leader, request);
  if (!outcome.ok) {
    deps.logger.warn({ event: 'forward-failed', leader, reason: outcome.lost }, 'no answer from the leader');
    return zkError('CONNECTIONLOSS', `${outcome.lost}; the write may or may not be applied`);
  }
  const { response } = outcome;
  const headers: Array<[string, string]> = [];
  let zxid = 0;
  for (const [name, value] of response.headers) {
    if (name === 'zk-zxid') zxid = Number(value);
    else if (RELAYED.has(name)) headers.push([name, value]);
  }
  let unappliedZxid: number | undefined;
  // Read-your-writes on this node; bounded, and the write stands either way: past the bound the
  // answer still carries the write's zxid, so a read here with it as Zk-Min-Zxid waits for it.
  if (response.status >= 200 && response.status < 300 && Number.isSafeInteger(zxid)) {
    await deps.node.host.waitForApplied(zxid, deps.config.minZxidWaitMs).catch(() => (unappliedZxid = zxid));
  }
  return { status: response.status, headers, body: response.body, unappliedZxid };
}

async function forward(c: Context, deps: AppDeps, leader: number): Promise<Response> {
  const { method } = c.req;
  // The largest body any write route takes; the leader's route applies its own limit.
  const limit = multiBodyLimit(deps.config.maxDataBytes);
  const body = method === 'GET' || method === 'HEAD' ? EMPTY : await readBody(c, limit);
  const relayed = await relay(deps, leader, { method, target: rawTarget(c), headers: forwardedHeaders(c, deps.config.id), body });
  if ('code' in relayed) return errorResponse(c, relayed);
  if (relayed.unappliedZxid !== undefined) relayedZxid.set(c.req.raw, relayed.unappliedZxid);
  const empty = method === 'HEAD' || relayed.body.length === 0;
  return new Response(empty ? null : (relayed.body as Uint8Array<ArrayBuffer>), { status: relayed.status, headers: relayed.headers as Array<[string, string]> });
}

/** The headers of a plain znode write that its call on the leader reads. */
const PLAIN_WRITE_HEADERS = ['if-match', 'zk-request-id', 'content-type'];

/**
 * A plain znode write that reached a follower on a direct path: sent to `leader` with the headers
 * its call reads, answered as a Reply once this member applied it (as `forward` does for the app).
 */
export async function relayPlainWrite(deps: AppDeps, leader: number, req: CallRequest, target: string): Promise<Reply> {
  const body = await req.readBody(multiBodyLimit(deps.config.maxDataBytes));
  const headers: Array<[string, string]> = [];
  for (const name of PLAIN_WRITE_HEADERS) {
    const value = req.header(name);
    if (value !== undefined) headers.push([name, value]);
  }
  headers.push([FORWARDED_HEADER, String(deps.config.id)]);
  const relayed = await relay(deps, leader, { method: req.method, target, headers, body });
  if ('code' in relayed) return errorReply(relayed, req.method);
  const header = (name: string) => relayed.headers.find(([n]) => n === name)?.[1];
  const etag = header('etag');
  const json = (header('content-type') ?? '').startsWith('application/json');
  const hasBody = relayed.body.length > 0;
  return {
    status: relayed.status,
    etag: etag === undefined ? undefined : Number(etag.replace(/"/g, '')),
    location: header('location'),
    retryAfter: header('retry-after'),
    jsonText: hasBody && json ? Buffer.from(relayed.body).toString('utf8') : undefined,
    bytes: hasBody && !json ? relayed.body : undefined,
    zxid: relayed.unappliedZxid,
  };
}

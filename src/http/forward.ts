/**
 * Any node takes any request: a write that reaches a follower is forwarded to the leader's HTTP
 * API as it came (the leader prepares it against the latest state), and the leader's answer is
 * relayed once this node has applied it too, so the client's next read here sees its write.
 * Watches are replicated, so setting one is a write too: a read with watch=true, addWatch and
 * removeWatches go to the leader. Other reads and the streams stay local.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { zkError } from '../core/errors.ts';
import type { AppDeps } from './app-deps.ts';
import { errorResponse } from './errors.ts';
import { ZNODE_READS } from './linearizable.ts';

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
const FORWARD_TIMEOUT_MS = 10_000;
/** Hop-by-hop headers, and Origin: this node already checked it (see originGuard in app.ts). */
const NOT_FORWARDED = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'origin', FORWARDED_HEADER]);
const RELAYED = ['content-type', 'retry-after', 'location', 'etag'];

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
    const address = status.leader === 0 ? undefined : node.clientAddressOf(status.leader);
    if (address === undefined) return errorResponse(c, zkError('CONNECTIONLOSS', 'no leader right now (an election is under way); retry'));
    return forward(c, deps, `http://${address}${c.req.url.replace(/^[a-z]+:\/\/[^/]+/i, '')}`);
  };
}

async function forward(c: Context, deps: AppDeps, url: string): Promise<Response> {
  const headers = new Headers();
  c.req.raw.headers.forEach((value, key) => {
    if (!NOT_FORWARDED.has(key)) headers.set(key, value);
  });
  headers.set(FORWARDED_HEADER, String(deps.config.id));
  const body = c.req.method === 'GET' ? undefined : await c.req.arrayBuffer();
  let answer: Response;
  try {
    answer = await fetch(url, { method: c.req.method, headers, body, signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS) });
  } catch (error) {
    deps.logger.warn({ event: 'forward-failed', url, err: error }, 'could not reach the leader');
    return errorResponse(c, zkError('CONNECTIONLOSS', 'lost the connection to the leader; the write may or may not be applied'));
  }
  const text = await answer.text();
  const zxid = Number(answer.headers.get('zk-zxid') ?? '0');
  // Read-your-writes on this node; bounded, and the write stands either way: past the bound the
  // answer still carries the write's zxid, so a read here with it as Zk-Min-Zxid waits for it.
  if (answer.ok && Number.isSafeInteger(zxid)) {
    await deps.node.host.waitForApplied(zxid, deps.config.minZxidWaitMs).catch(() => relayedZxid.set(c.req.raw, zxid));
  }
  const relayed = new Headers();
  for (const name of RELAYED) {
    const value = answer.headers.get(name);
    if (value !== null) relayed.set(name, value);
  }
  return new Response(c.req.method === 'HEAD' || text === '' ? null : text, { status: answer.status, headers: relayed });
}

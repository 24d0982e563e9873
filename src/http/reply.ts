/**
 * A call's answer before it is put on the wire: the status, the few headers a znode call sets,
 * and a JSON body, raw bytes or nothing. Hono routes turn it into a Response (`toResponse`);
 * the direct path writes it to the socket itself (fast-path.ts).
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';
import type { ZkError } from '../core/errors.ts';
import { errorBody, statusOf } from './errors.ts';

export interface Reply {
  readonly status: number;
  /** The znode's version, sent as `ETag: "<version>"`. */
  readonly etag?: number;
  readonly location?: string;
  readonly retryAfter?: string;
  /** A 401's WWW-Authenticate: the schemes the node accepts. */
  readonly challenge?: string;
  readonly json?: unknown;
  /** A JSON body already serialized (instead of `json`). */
  readonly jsonText?: string;
  readonly bytes?: Uint8Array;
  /** The least Zk-Zxid the answer may carry (a write's zxid, which this member may not have applied yet). */
  readonly zxid?: number | undefined;
}

/**
 * An answer's Zk-Zxid, the one rule every carrier uses: what this member has applied, or the
 * answered write's zxid if that is later (a follower's write applied at the leader, not here
 * yet: a read here with it as Zk-Min-Zxid then waits for it).
 */
export function answerZxid(appliedZxid: number, reply: Pick<Reply, 'zxid'> | undefined): number {
  const zxid = reply?.zxid;
  return zxid !== undefined && zxid > appliedZxid ? zxid : appliedZxid;
}

/** The least Zk-Zxid of a Hono response, set by toResponse from its Reply. */
export const answeredZxid = new WeakMap<Context, number>();

/** The contract's error body with the status of its code; 503s and 429s say when to retry; HEAD gets no body. */
export function errorReply(error: ZkError, method: string, extra: Record<string, unknown> = {}): Reply {
  const status = statusOf(error);
  const retryAfter = status === 503 || status === 429 ? '1' : undefined;
  if (method === 'HEAD') return { status, retryAfter };
  return { status, retryAfter, json: { ...errorBody(error), ...extra } };
}

/** The answer to a request that failed inside the node (a bug, not the client's mistake). */
export const INTERNAL_ERROR: Reply = { status: 500, json: { code: 'SYSTEMERROR', zkCode: -1, message: 'internal error' } };

/** A reply's JSON body as text, if it has one. */
export function jsonBodyOf(reply: Reply): string | undefined {
  return reply.jsonText ?? (reply.json === undefined ? undefined : JSON.stringify(reply.json));
}

/** The headers of a reply, by lower-case name, without Content-Length. */
export function replyHeaders(reply: Reply): Record<string, string> {
  const headers: Record<string, string> = {};
  if (reply.json !== undefined || reply.jsonText !== undefined) headers['content-type'] = 'application/json';
  else if (reply.bytes !== undefined) headers['content-type'] = 'application/octet-stream';
  if (reply.etag !== undefined) headers.etag = `"${reply.etag}"`;
  if (reply.location !== undefined) headers.location = reply.location;
  if (reply.retryAfter !== undefined) headers['retry-after'] = reply.retryAfter;
  if (reply.challenge !== undefined) headers['www-authenticate'] = reply.challenge;
  return headers;
}

export function toResponse(c: Context, reply: Reply): Response {
  if (reply.zxid !== undefined) answeredZxid.set(c, reply.zxid);
  for (const [name, value] of Object.entries(replyHeaders(reply))) c.header(name, value);
  if (reply.json !== undefined) return c.json(reply.json, reply.status as ContentfulStatusCode);
  if (reply.jsonText !== undefined) return c.body(reply.jsonText, reply.status as ContentfulStatusCode);
  if (reply.bytes !== undefined) return c.body(new Uint8Array(reply.bytes), reply.status as ContentfulStatusCode);
  return c.body(null, reply.status as StatusCode);
}

/** The one table from ZooKeeper codes to HTTP statuses, and the contract's error body. */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ZK_CODES, zkError, type ZkError } from '../core/errors.ts';
import { errorReply, toResponse } from './reply.ts';

const STATUS: Partial<Record<ZkError['code'], ContentfulStatusCode>> = {
  BADARGUMENTS: 400,
  MARSHALLINGERROR: 400,
  INVALIDACL: 400,
  AUTHFAILED: 401,
  NOAUTH: 403,
  // A quota is the operator's limit on what may exist, as Kubernetes answers an exceeded ResourceQuota.
  QUOTAEXCEEDED: 403,
  NONODE: 404,
  UNKNOWNSESSION: 404,
  NOWATCHER: 404,
  UNIMPLEMENTED: 404,
  NODEEXISTS: 409,
  NOTEMPTY: 409,
  BADVERSION: 409,
  NOCHILDRENFOREPHEMERALS: 409,
  // A membership change that would lose the quorum (or promote a lagging learner): the cluster's state refuses it.
  NEWCONFIGNOQUORUM: 409,
  // Membership changes on a node that cannot make them (no peers).
  RECONFIGDISABLED: 409,
  SESSIONEXPIRED: 410,
  THROTTLEDOP: 429,
  CONNECTIONLOSS: 503,
  OPERATIONTIMEOUT: 503,
  // Another membership change is under way: retry shortly.
  RECONFIGINPROGRESS: 503,
};

export function statusOf(error: ZkError): ContentfulStatusCode {
  if (error.tooLarge) return 413;
  return STATUS[error.code] ?? 500;
}

export function errorBody(error: ZkError): Record<string, unknown> {
  const body: Record<string, unknown> = { code: error.code, zkCode: ZK_CODES[error.code], message: error.message };
  if (error.path !== undefined) body.path = error.path;
  return body;
}

/** Answers with the contract's error body; 503s say when to retry. */
export function errorResponse(c: Context, error: ZkError, extra: Record<string, unknown> = {}): Response {
  return toResponse(c, errorReply(error, c.req.method, extra));
}

/** A request refused before it reached the tree: thrown by parsers, answered by the app's error handler. */
export class RequestRejected extends Error {
  constructor(readonly error: ZkError) {
    super(error.message);
  }
}

export function badRequest(message: string, path?: string): RequestRejected {
  return new RequestRejected(zkError('BADARGUMENTS', message, path));
}

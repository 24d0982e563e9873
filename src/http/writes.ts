/** Client writes from any carrier: parsed here, ordered by the backend, answered as a WriteResult. */
import type { WriteOutcome } from '../backend/backend.ts';
import type { WriteResult } from '../core/tree/results.ts';
import type { WriteOp } from '../core/tree/txn.ts';
import type { AppDeps } from './app-deps.ts';
import { badRequest } from './errors.ts';
import type { CallRequest } from './znode-calls.ts';

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** A Zk-Request-Id header's value (printable ASCII, at most 128 characters), if there is one. */
export function parseRequestId(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!REQUEST_ID.test(raw)) throw badRequest('Zk-Request-Id must be 1 to 128 printable ASCII characters without spaces');
  return raw;
}

export interface Committed {
  /** The write's result; a write that could not be ordered is its error (ops not reached: failedOp 0). */
  readonly outcome: WriteResult;
  /** Where it was applied: the answer's Zk-Zxid is at least this (the member may not have applied it yet). */
  readonly zxid: number | undefined;
}

/**
 * Orders `ops` (through the leader, wherever this member stands) for the request `req`. Not
 * async (every write takes it): one promise layer, not two. Throws a bad request id at once.
 */
export function commitWrite(
  deps: AppDeps, ops: readonly WriteOp[], multi: boolean, sessionId: number, req: Pick<CallRequest, 'header' | 'caller'>,
): Promise<Committed> {
  const requestId = parseRequestId(req.header('zk-request-id'));
  return deps.backend.write({ ops, multi, sessionId, requestId, caller: req.caller() }).then(committedOf);
}

function committedOf(outcome: WriteOutcome): Committed {
  if (!outcome.ok) return { outcome: { ok: false, failedOp: 0, error: outcome.error }, zxid: undefined };
  return { outcome: outcome.result, zxid: outcome.zxid };
}

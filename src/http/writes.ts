/** Submitting client writes: prepare, order through the log, and map the outcome to HTTP. */
import { assert } from '../core/errors.ts';
import { prepareWrite } from '../core/tree/prepare.ts';
import { isWriteResult, type WriteResult } from '../core/tree/results.ts';
import type { WriteOp } from '../core/tree/txn.ts';
import { NotCommittedError } from '../node/node-host.ts';
import type { Context } from 'hono';
import type { AppDeps } from './app-deps.ts';
import { badRequest } from './errors.ts';

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** A Zk-Request-Id header's value (printable ASCII, at most 128 characters), if there is one. */
export function parseRequestId(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!REQUEST_ID.test(raw)) throw badRequest('Zk-Request-Id must be 1 to 128 printable ASCII characters without spaces');
  return raw;
}

/** The request's Zk-Request-Id, if it has one. */
export const requestIdOf = (c: Context): string | undefined => parseRequestId(c.req.header('zk-request-id'));

/** Prepares and commits `ops`; a prepare failure is reported like an apply failure. */
export async function commitWrite(
  deps: AppDeps, ops: readonly WriteOp[], multi: boolean, sessionId: number, requestId?: string,
): Promise<WriteResult> {
  const prepared = prepareWrite(ops, multi, {
    timeMs: deps.nowMs(), sessionId, maxDataBytes: deps.config.maxDataBytes,
    request: requestId === undefined ? undefined : { client: sessionId === 0 ? 'anonymous' : `session:${sessionId}`, id: requestId },
  });
  if (!prepared.ok) return prepared;
  try {
    // A retry is a log entry like any other: its apply answers the first attempt's result.
    const { result } = await deps.node.host.submit(prepared.envelope);
    assert(result !== undefined && isWriteResult(result), 'a write txn answers with a write result');
    return result;
  } catch (error) {
    if (error instanceof NotCommittedError) return { ok: false, failedOp: 0, error: error.error };
    throw error;
  }
}

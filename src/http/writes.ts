/** Submitting client writes: prepare, order through the log, and map the outcome to HTTP. */
import { assert } from '../core/errors.ts';
import { prepareWrite } from '../core/tree/prepare.ts';
import { isWriteResult, type WriteResult } from '../core/tree/results.ts';
import type { WriteOp } from '../core/tree/txn.ts';
import { NotCommittedError } from '../node/node-host.ts';
import type { AppDeps } from './app-deps.ts';

/** Prepares and commits `ops`; a prepare failure is reported like an apply failure. */
export async function commitWrite(
  deps: AppDeps, ops: readonly WriteOp[], multi: boolean, sessionId: number,
): Promise<WriteResult> {
  const prepared = prepareWrite(ops, multi, {
    timeMs: deps.nowMs(), sessionId, maxDataBytes: deps.config.maxDataBytes,
  });
  if (!prepared.ok) return prepared;
  try {
    const { result } = await deps.node.host.submit(prepared.envelope);
    assert(result !== undefined && isWriteResult(result), 'a write txn answers with a write result');
    return result;
  } catch (error) {
    if (error instanceof NotCommittedError) return { ok: false, failedOp: 0, error: error.error };
    throw error;
  }
}

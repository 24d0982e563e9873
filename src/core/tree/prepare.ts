/**
 * prepare(): turns a client's write request into a transaction for the log. It checks what does
 * not depend on the tree (path rules, modes, TTLs, sizes) and stamps the leader's time; checks
 * against the tree happen at apply, where they are deterministic on every replica and see the
 * effects of every earlier entry in the log.
 */
import type { ZkError } from '../errors.ts';
import { zkError } from '../errors.ts';
import { pathError, sequentialSuffix } from './path.ts';
import type { RequestTag, TxnEnvelope, WriteOp } from './txn.ts';
import { isSequential, kindOf, NO_TTL, TTL_MS_MAX } from './znode.ts';

export interface PrepareContext {
  readonly timeMs: number;
  readonly sessionId: number;
  readonly maxDataBytes: number;
  readonly request?: RequestTag | undefined;
  /** The caller's identities: `auth` ACL entries expand to them, and apply checks ACLs with them. */
  readonly auth: readonly string[];
}

export type Prepared =
  | { readonly ok: true; readonly envelope: TxnEnvelope }
  | { readonly ok: false; readonly failedOp: number; readonly error: ZkError };

export function prepareWrite(ops: readonly WriteOp[], multi: boolean, ctx: PrepareContext): Prepared {
  // The ACL a create or setACL stores (`auth` expanded, INVALIDACL) is decided at apply, in the op's
  // turn (fixupAcl in ops.ts): a multi reports an earlier op's error first, as ZooKeeper does.
  for (let i = 0; i < ops.length; i++) {
    const error = checkOp(ops[i]!, ctx);
    if (error) return { ok: false, failedOp: i, error };
  }
  const { sessionId, request, auth } = ctx;
  const prepared = ops;
  const txn = request === undefined
    ? { type: 'write' as const, ops: prepared, multi, sessionId, auth }
    : { type: 'write' as const, ops: prepared, multi, sessionId, auth, request };
  return { ok: true, envelope: { timeMs: ctx.timeMs, txn } };
}

function checkOp(op: WriteOp, ctx: PrepareContext): ZkError | undefined {
  // A sequential create is checked with its counter appended, as ZooKeeper does.
  const checked = op.type === 'create' && isSequential(op.mode) ? op.path + sequentialSuffix(0) : op.path;
  const invalid = pathError(checked);
  if (invalid) return zkError('BADARGUMENTS', `invalid path: ${invalid}`, op.path);
  if (op.type === 'check' || op.type === 'delete' || op.type === 'setACL') return checkVersion(op.version, op.path);
  if (op.data.length > ctx.maxDataBytes) {
    const message = `data is ${op.data.length} bytes, over the ${ctx.maxDataBytes}-byte limit`;
    return { ...zkError('BADARGUMENTS', message, op.path), tooLarge: true };
  }
  if (op.type === 'setData') return checkVersion(op.version, op.path);
  const kind = kindOf(op.mode);
  if (kind === 'ttl' && !(Number.isInteger(op.ttlMs) && op.ttlMs > 0 && op.ttlMs <= TTL_MS_MAX)) {
    return zkError('BADARGUMENTS', `ttl must be an integer from 1 to ${TTL_MS_MAX} ms`, op.path);
  }
  // Any ttl given with another mode, 0 included, is refused, as ZooKeeper's validateTTL does.
  if (kind !== 'ttl' && op.ttlMs !== NO_TTL) {
    return zkError('BADARGUMENTS', `ttl is only allowed with the *_with_ttl modes`, op.path);
  }
  if (kind === 'ephemeral' && ctx.sessionId === 0) {
    return zkError('BADARGUMENTS', 'ephemeral nodes need a session', op.path);
  }
  return undefined;
}

function checkVersion(version: number, path: string): ZkError | undefined {
  if (Number.isInteger(version) && version >= -2147483648 && version <= 2147483647) return undefined;
  return zkError('BADARGUMENTS', `version must be a 32-bit integer`, path);
}

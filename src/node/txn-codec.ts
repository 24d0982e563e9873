/**
 * Encodes transactions for the log: JSON, with node data as base64. '' is a leader's empty entry,
 * `conf:…` a membership change.
 * The format is versioned by the database schema (src/storage/database.ts).
 */
import { OPEN_ACL, type Acl } from '../core/acl/acl.ts';
import { isConfChangeData } from '../core/consensus/conf-change.ts';
import { decimal } from '../core/decimal.ts';
import { assert } from '../core/errors.ts';
import type { Txn, TxnEnvelope, WriteOp } from '../core/tree/txn.ts';

type EncodedOp = Omit<WriteOp, 'data'> & { data?: string };

const NOOP: TxnEnvelope = { timeMs: 0, txn: { type: 'noop' } };

/** Base64 of the bytes, read in place (no copy). */
const base64 = (data: Uint8Array): string => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');

/** A number as JSON writes it (a non-finite one as null). */
const num = (n: number): string => (Number.isFinite(n) ? decimal(n) : 'null');

/** One write op as JSON, its keys in a fixed order. */
function encodeOp(op: WriteOp): string {
  const head = `{"type":"${op.type}","path":${JSON.stringify(op.path)}`;
  switch (op.type) {
    case 'create':
      return `${head},"data":"${base64(op.data)}","mode":${JSON.stringify(op.mode)},"ttlMs":${num(op.ttlMs)}${aclField(op.acl)}}`;
    case 'setACL':
      return `${head}${aclField(op.acl)},"version":${num(op.version)}}`;
    case 'setData':
      return `${head},"data":"${base64(op.data)}","version":${num(op.version)}}`;
    case 'delete':
    case 'check':
      return `${head},"version":${num(op.version)}}`;
  }
}

/** The open ACL, nearly every create's, is left out: decoding restores it. */
const aclField = (acl: Acl): string => (acl === OPEN_ACL ? '' : `,"acl":${JSON.stringify(acl)}`);

/**
 * The caller's identities as JSON, once per array: the authenticator keeps one frozen array per
 * caller (auth/authenticator.ts), so a client's writes share it. JSON.stringify of it costs
 * ~0.2 µs a write; the lookup ~25 ns.
 */
const authJson = new WeakMap<readonly string[], string>();

function authJsonOf(auth: readonly string[]): string {
  let json = authJson.get(auth);
  if (json === undefined) {
    json = JSON.stringify(auth);
    // Only a frozen array is cached: its contents cannot change under the cached text.
    if (Object.isFrozen(auth)) authJson.set(auth, json);
  }
  return json;
}

/**
 * A write as JSON text built directly — what JSON.stringify makes of it with the data as base64,
 * at a third of the cost (the intermediate objects and the generic walk were ~5 % of a setData).
 */
export function encodeTxn(envelope: TxnEnvelope): string {
  const { txn } = envelope;
  if (txn.type !== 'write') return JSON.stringify(envelope);
  let ops = '';
  for (let i = 0; i < txn.ops.length; i++) ops += (i === 0 ? '' : ',') + encodeOp(txn.ops[i]!);
  const request = txn.request === undefined ? '' : `,"request":{"client":${JSON.stringify(txn.request.client)},"id":${JSON.stringify(txn.request.id)}}`;
  // Written only when set, so entries without it encode (and decode) as before it existed.
  const quota = txn.enforceQuota === true ? ',"enforceQuota":true' : '';
  return `{"timeMs":${num(envelope.timeMs)},"txn":{"type":"write","ops":[${ops}],"multi":${txn.multi},"sessionId":${num(txn.sessionId)},"auth":${authJsonOf(txn.auth)}${request}${quota}}}`;
}

export function decodeTxn(data: string): TxnEnvelope {
  // A membership change (conf-change.ts) is consensus' own entry: to the tree, a no-op at its zxid.
  if (data === '' || isConfChangeData(data)) return NOOP;
  const raw = JSON.parse(data) as { timeMs: number; txn: Txn };
  assert(typeof raw.timeMs === 'number' && typeof raw.txn?.type === 'string', 'malformed log entry');
  const { txn } = raw;
  // Entries written before ACLs existed carry no identities: every node was open then.
  if ((txn.type === 'createSession' || txn.type === 'watch') && txn.auth === undefined) return { timeMs: raw.timeMs, txn: { ...txn, auth: [] } };
  if (txn.type !== 'write') return raw;
  const ops = (txn.ops as readonly EncodedOp[]).map((op) => {
    const decoded = op.data === undefined ? op : { ...op, data: new Uint8Array(Buffer.from(op.data, 'base64')) };
    return (op.type === 'create' || op.type === 'setACL') && !('acl' in op) ? { ...decoded, acl: OPEN_ACL } : decoded;
  }) as WriteOp[];
  return { timeMs: raw.timeMs, txn: { ...txn, ops, auth: txn.auth ?? [] } };
}

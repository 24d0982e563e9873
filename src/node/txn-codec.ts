/**
 * Encodes transactions for the log: JSON, with node data as base64. '' is a leader's empty entry.
 * The format is versioned by the database schema (src/storage/database.ts).
 */
import { assert } from '../core/errors.ts';
import type { Txn, TxnEnvelope, WriteOp } from '../core/tree/txn.ts';

type EncodedOp = Omit<WriteOp, 'data'> & { data?: string };

const NOOP: TxnEnvelope = { timeMs: 0, txn: { type: 'noop' } };

/** Base64 of the bytes, read in place (no copy). */
const base64 = (data: Uint8Array): string => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');

export function encodeTxn(envelope: TxnEnvelope): string {
  const { txn } = envelope;
  if (txn.type !== 'write') return JSON.stringify(envelope);
  const ops = txn.ops.map((op) => ('data' in op ? { ...op, data: base64(op.data) } : op));
  return JSON.stringify({ timeMs: envelope.timeMs, txn: { ...txn, ops } });
}

export function decodeTxn(data: string): TxnEnvelope {
  if (data === '') return NOOP;
  const raw = JSON.parse(data) as { timeMs: number; txn: Txn };
  assert(typeof raw.timeMs === 'number' && typeof raw.txn?.type === 'string', 'malformed log entry');
  if (raw.txn.type !== 'write') return raw;
  const ops = (raw.txn.ops as readonly EncodedOp[]).map((op) =>
    op.data === undefined ? op : { ...op, data: new Uint8Array(Buffer.from(op.data, 'base64')) },
  ) as WriteOp[];
  return { timeMs: raw.timeMs, txn: { ...raw.txn, ops } };
}

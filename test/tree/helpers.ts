// Test helpers for the pure data tree: op builders, a harness that hands out increasing zxids,
// and a digest of the whole tree (every stored field and the data bytes, sorted by path).
import { formatAcl, OPEN_ACL } from '../../src/core/acl/acl.ts';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import { isWriteResult, type ApplyOutput, type WriteResult } from '../../src/core/tree/results.ts';
import type { Txn, TxnEnvelope, WriteOp } from '../../src/core/tree/txn.ts';
import type { CreateMode, Znode } from '../../src/core/tree/znode.ts';

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

export function createOp(path: string, mode: CreateMode = 'persistent', data = '', ttlMs = mode.endsWith('_with_ttl') ? 0 : -1): WriteOp {
  return { type: 'create', path, data: bytes(data), mode, ttlMs, acl: OPEN_ACL };
}
export const setDataOp = (path: string, data: string, version = -1): WriteOp =>
  ({ type: 'setData', path, data: bytes(data), version });
export const deleteOp = (path: string, version = -1): WriteOp => ({ type: 'delete', path, version });
export const checkOp = (path: string, version = -1): WriteOp => ({ type: 'check', path, version });

/** Sessions 1–9 exist in every harness tree, so tests can act for a session by number. */
export const TEST_SESSIONS = Array.from({ length: 9 }, (_, i) => ({ id: i + 1, timeoutMs: 10_000, tokenHash: 'test', auth: [] }));

export const newTree = (): DataTree => new DataTree(undefined, 0, TEST_SESSIONS);

export interface WriteOptions {
  readonly multi?: boolean;
  readonly sessionId?: number;
  readonly timeMs?: number;
  /** The caller's identities (none unless the test is about ACLs). */
  readonly auth?: readonly string[];
}

/** Applies txns at zxid 1, 2, 3, ... and time 1000 × zxid unless told otherwise. */
export class Harness {
  readonly tree: DataTree;
  /** Every envelope applied, in order, for replay on a fresh tree. */
  readonly log: Array<{ zxid: number; envelope: TxnEnvelope }> = [];
  private zxid = 0;

  constructor(tree = newTree()) {
    this.tree = tree;
    this.zxid = tree.appliedZxid;
  }

  get lastZxid(): number {
    return this.zxid;
  }

  applyTxn(txn: Txn, timeMs?: number): ApplyOutput {
    const zxid = ++this.zxid;
    const envelope = { timeMs: timeMs ?? zxid * 1000, txn };
    this.log.push({ zxid, envelope });
    return this.tree.apply(zxid, envelope);
  }

  /** A client write; returns the result and the events it produced. */
  write(ops: readonly WriteOp[], options: WriteOptions = {}): { result: WriteResult } & ApplyOutput {
    const txn: Txn = {
      type: 'write', ops, multi: options.multi ?? ops.length > 1, sessionId: options.sessionId ?? 0, auth: options.auth ?? [],
    };
    const output = this.applyTxn(txn, options.timeMs);
    if (output.result === undefined || !isWriteResult(output.result)) throw new Error('a write produced no write result');
    return { ...output, result: output.result };
  }

  /** A single op that must succeed; returns its result. */
  ok(op: WriteOp, options: WriteOptions = {}) {
    const { result } = this.write([op], options);
    if (!result.ok) throw new Error(`${op.type} ${op.path} failed: ${result.error.code}`);
    return result.results[0]!;
  }

  /** A single op that must fail; returns its error code. */
  code(op: WriteOp, options: WriteOptions = {}): string {
    const { result } = this.write([op], options);
    return result.ok ? 'OK' : result.error.code;
  }

  reap(path: string, czxid: number, timeMs: number): ApplyOutput {
    return this.applyTxn({ type: 'reap', path, czxid }, timeMs);
  }
}

function hex(data: Uint8Array): string {
  return Buffer.from(data).toString('hex');
}

export function nodeDigest(node: Znode): string {
  return [
    node.path, node.czxid, node.mzxid, node.pzxid, node.ctime, node.mtime, node.version,
    node.aversion, node.creations, node.kind, node.ephemeralOwner, node.ttlMs, formatAcl(node.acl), hex(node.data),
  ].join('|');
}

/** Every node's every field and data bytes, sorted by path. */
export function digest(tree: DataTree): string {
  return tree
    .snapshot()
    .map(nodeDigest)
    .sort()
    .join('\n');
}

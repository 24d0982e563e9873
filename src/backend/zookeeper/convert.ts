/**
 * Between ZooKeeper's records and Corral's: Stats (64-bit zxids to numbers), session ids, write
 * ops and their results. Pure.
 *
 * Zxids: a ZooKeeper zxid is epoch << 32 | counter; as a double it is exact while the epoch is
 * below 2^21, far past any ensemble's life. Session ids use all 64 bits: the top byte is the
 * server id, bits 16-55 the milliseconds when that server's session tracker started, the low 16
 * a counter. Servers of an ensemble that start tracking in the same millisecond hand out ids
 * that differ only in the server byte, so Corral's session id (53 bits) keeps that byte above
 * the low 45 bits (a counter and ~6 days of start times): unique among live sessions. The full
 * id travels only inside the sealed token.
 */
import { zkError, type ZkError } from '../../core/errors.ts';
import type { OpResult, WriteResult } from '../../core/tree/results.ts';
import type { WriteOp } from '../../core/tree/txn.ts';
import type { Stat } from '../../core/tree/znode.ts';
import type { MultiResult, WriteOp as ZkWriteOp, ZkStat } from '../../zookeeper-client/records.ts';
import { errorOf } from '../../zookeeper-client/zk-errors.ts';

const SESSION_ID_LOW_BITS = 45n;

export function corralSessionId(zkSessionId: bigint): number {
  const id = BigInt.asUintN(64, zkSessionId);
  const server = id >> 56n;
  return Number((server << SESSION_ID_LOW_BITS) | (id & ((1n << SESSION_ID_LOW_BITS) - 1n)));
}

export function zxidNumber(zxid: bigint): number {
  return zxid < 0n ? 0 : Number(zxid);
}

export function statOf(s: ZkStat): Stat {
  return {
    czxid: zxidNumber(s.czxid), mzxid: zxidNumber(s.mzxid), pzxid: zxidNumber(s.pzxid), ctime: s.ctime, mtime: s.mtime,
    version: s.version, cversion: s.cversion, aversion: s.aversion,
    ephemeralOwner: s.ephemeralOwner === 0n ? 0 : corralSessionId(s.ephemeralOwner),
    dataLength: s.dataLength, numChildren: s.numChildren,
  };
}

/**
 * Children as Corral lists them: sorted by UTF-16 code unit (the contract, and what paging with
 * `?after=` relies on); ZooKeeper answers them in its hash set's order.
 */
export function sortedNames(names: readonly string[]): string[] {
  return [...names].sort();
}

/** A Corral write op as ZooKeeper's; setACL has no multi form (ZooKeeper's multi has none either). */
export function zkOpOf(op: WriteOp): ZkWriteOp | undefined {
  switch (op.type) {
    case 'create':
      return { type: 'create', path: op.path, data: op.data, acl: op.acl, mode: op.mode, ...(op.ttlMs > 0 ? { ttlMs: op.ttlMs } : {}) };
    case 'delete':
      return { type: 'delete', path: op.path, version: op.version };
    case 'setData':
      return { type: 'setData', path: op.path, data: op.data, version: op.version };
    case 'check':
      return { type: 'check', path: op.path, version: op.version };
    case 'setACL':
      return undefined;
  }
}

/**
 * The Stat a create had right after it applied, for a server that answered a multi's create
 * without one: a new node's Stat is fixed by the multi's zxid, the data and the owner; only its
 * ctime is read afterwards (a ctime never changes; 0 when the node is gone again).
 */
export function createdStat(zxid: number, data: Uint8Array, ephemeralOwner: number, ctime: number): Stat {
  return {
    czxid: zxid, mzxid: zxid, pzxid: zxid, ctime, mtime: ctime, version: 0, cversion: 0, aversion: 0,
    ephemeralOwner, dataLength: data.length, numChildren: 0,
  };
}

/** A multi's answer as Corral's WriteResult: all results, or the first op that failed and why. */
export function multiResultOf(ops: readonly WriteOp[], results: readonly MultiResult[], statless: (index: number) => Stat): WriteResult {
  const failed = results.findIndex((r) => r.type === 'error' && r.err !== 0 && r.err !== -2);
  if (failed !== -1) {
    const r = results[failed] as { err: number };
    return { ok: false, failedOp: failed, error: errorOf(r.err, ops[failed]?.path) };
  }
  const out: OpResult[] = [];
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const path = ops[i]!.path;
    if (r.type === 'create') out.push({ type: 'create', path: r.path, stat: r.stat ? statOf(r.stat) : statless(i) });
    else if (r.type === 'setData') out.push({ type: 'setData', path, stat: statOf(r.stat) });
    else if (r.type === 'delete') out.push({ type: 'delete', path });
    else if (r.type === 'check') out.push({ type: 'check', path });
    else return { ok: false, failedOp: i, error: zkError('SYSTEMERROR', `a multi answered a ${r.type} result`) };
  }
  return { ok: true, results: out };
}

export function failed(error: ZkError): WriteResult {
  return { ok: false, failedOp: 0, error };
}

/**
 * The per-znode history of a node simulation run, for the linearizability checker: each request
 * projected onto the paths it touches (a multi onto each of its ops, all with the request's call
 * and return; a session's close onto every path it ever tried to create an ephemeral at; a
 * watched read onto its path, as a read of what it answered), each leader read as a
 * zero-duration operation, each linearizable read (ReadIndex) from its readBarrier call to the
 * instant it read the tree, and each leader's expiry of a session (a close that is nobody's
 * request) as a zero-duration operation at its first apply (node-sessions.ts says why that
 * instant).
 *
 * A tagged request's attempts (the same txn, retried: node-workload.ts) are one operation, and so
 * is a later request that reuses an id for the very same operation (same ops, multi and session:
 * the request-id table answers it with the first attempt's result and zxid; within the table's
 * bounds, which the simulation never reaches, it is never applied again): from
 * the first call that may have applied it to the first answer it got (every answer is the first
 * one); an attempt answered SESSIONEXPIRED (its session ended meanwhile) says nothing of whether an
 * earlier one applied, so with no other answer the outcome is unknown. A request whose id was
 * already taken by another operation (BADARGUMENTS) was never applied: it is left out.
 *
 * Only the paths of MODELED_PATH are followed (sequential, container and TTL nodes change
 * without a request naming them: the final checks cover those).
 *
 * A request certainly not applied (refused by a follower, throttled) is left out. One whose
 * outcome is unknown (CONNECTIONLOSS, or no reply by the end) returns at Infinity with an
 * unconstrained output. In a failed multi only the failing op says something about its path
 * (the others were not applied): it alone is kept. A write refused with SESSIONEXPIRED depends
 * on the session table, not on the path: it is left out, as is a watched read whose session had
 * ended (it read nothing) and one whose answer never came (a read of unknown outcome constrains
 * nothing).
 */
import type { Operation } from '../linearizability/checker.ts';
import type { OpResult, SessionResult, WatchResult, WriteResult } from '../../src/core/tree/results.ts';
import type { WatchRequest, WriteOp } from '../../src/core/tree/txn.ts';
import type { NodeInput, NodeOutput } from './node-model.ts';
import { MODELED_PATH } from './node-requests.ts';
import type { OpRecord, ReadRecord } from './node-records.ts';
import type { SessionEndSeen } from './node-sessions.ts';
import { isSequential } from '../../src/core/tree/znode.ts';

export type NodeOperation = Operation<NodeInput, NodeOutput>;

const text = new TextDecoder();

function inputOf(op: WriteOp, sessionId: number): NodeInput {
  switch (op.type) {
    case 'create':
      return { op: 'create', path: op.path, data: text.decode(op.data), owner: op.mode.startsWith('ephemeral') ? sessionId : 0 };
    case 'setData':
      return op.version === -1
        ? { op: 'write', path: op.path, data: text.decode(op.data) }
        : { op: 'cas', path: op.path, data: text.decode(op.data), version: op.version };
    case 'delete':
      return { op: 'delete', path: op.path, version: op.version };
    case 'check':
      return { op: 'check', path: op.path, version: op.version };
    case 'setACL':
      throw new Error(`the node model does not model ACLs: the workload sent a setACL of ${op.path}`);
  }
}

function outputOf(result: OpResult): NodeOutput {
  switch (result.type) {
    case 'create':
      return { ok: true, version: result.stat.version, owner: result.stat.ephemeralOwner };
    case 'setData':
      return { ok: true, version: result.stat.version };
    default:
      return { ok: true };
  }
}

/** The (input, output) pairs of a write request, by what it returned. */
function projectWrite(record: OpRecord, ops: readonly WriteOp[], sessionId: number): Array<[NodeInput, NodeOutput]> {
  if (!ops.every((op) => MODELED_PATH.test(op.path) && !(op.type === 'create' && isSequential(op.mode)))) return [];
  const inputs = ops.map((op) => inputOf(op, sessionId));
  if (record.status !== 'done') return inputs.map((input) => [input, { ok: 'unknown' }]);
  const result = record.result as WriteResult | undefined;
  if (!result) throw new Error(`request #${record.id} (a write) was answered without a result`);
  if (result.ok) return inputs.map((input, i) => [input, outputOf(result.results[i]!)]);
  if (result.error.code === 'SESSIONEXPIRED') return [];
  return [[inputs[result.failedOp]!, { ok: false, code: result.error.code }]];
}

/** Paths each session tried to create an ephemeral at. */
function ephemeralAttempts(records: readonly OpRecord[]): Map<number, Set<string>> {
  const bySession = new Map<number, Set<string>>();
  for (const { txn } of records) {
    if (txn.type !== 'write' || txn.sessionId === 0) continue;
    for (const op of txn.ops) {
      if (op.type !== 'create' || op.mode !== 'ephemeral' || !MODELED_PATH.test(op.path)) continue;
      const set = bySession.get(txn.sessionId) ?? new Set<string>();
      set.add(op.path);
      bySession.set(txn.sessionId, set);
    }
  }
  return bySession;
}

function projectClose(record: OpRecord, session: number, attempts: Map<number, Set<string>>): Array<[NodeInput, NodeOutput]> {
  const result = record.result as SessionResult | undefined;
  if (record.status === 'done' && !result?.ok) return []; // already ended: nothing deleted
  const output: NodeOutput = record.status === 'done' ? { ok: true } : { ok: 'unknown' };
  return [...(attempts.get(session) ?? [])].map((path) => [{ op: 'closeSession', path, session }, output]);
}

/** A watched read's answer as a read of its path: getData sees it all, exists its Stat, getChildren whether it exists. */
function projectWatch(record: OpRecord, request: WatchRequest): Array<[NodeInput, NodeOutput]> {
  if (request.op === 'addWatch' || request.op === 'removeWatches' || !MODELED_PATH.test(request.path) || record.status !== 'done') return [];
  const result = record.result as WatchResult;
  const input: NodeInput = { op: 'read', path: request.path };
  if (!result.ok) return result.error.code === 'NONODE' ? [[input, { ok: true, exists: false }]] : [];
  const { stat } = result;
  if (request.op === 'getChildren' || !stat) return [[input, { ok: true, exists: true }]];
  const data = request.op === 'getData' && result.data ? { data: text.decode(result.data) } : {};
  return [[input, { ok: true, exists: true, version: stat.version, owner: stat.ephemeralOwner, ...data }]];
}

/** Whether `result` refuses a request id taken by another operation. */
export function isReusedId(result: OpRecord['result']): boolean {
  return result !== undefined && !result.ok && result.error.code === 'BADARGUMENTS' && result.error.message.includes('was used for a different operation');
}

const isExpired = (record: OpRecord) => record.result !== undefined && !record.result.ok && record.result.error.code === 'SESSIONEXPIRED';

/** Records with each tagged request's attempts merged into one (see the header). */
function mergeRetries(records: readonly OpRecord[]): OpRecord[] {
  const groups = new Map<string, OpRecord[]>();
  const out: OpRecord[] = [];
  for (const record of records) {
    const { txn } = record;
    if (txn.type !== 'write' || txn.request === undefined) {
      out.push(record);
      continue;
    }
    // Keyed by the id and the operation, not the txn object: a reuse of an id for the same
    // operation is that operation (regression seed 1334), one for another is refused (BADARGUMENTS).
    const key = JSON.stringify([txn.request.client, txn.request.id, txn.ops, txn.multi, txn.sessionId]);
    const group = groups.get(key);
    if (group) group.push(record);
    else groups.set(key, [record]);
  }
  for (const group of groups.values()) {
    const tried = group.filter((r) => r.status !== 'refused');
    if (tried.length === 0 || tried.some((r) => r.status === 'done' && isReusedId(r.result))) continue;
    const answered = tried.filter((r) => r.status === 'done' && !isExpired(r)).sort((a, b) => a.ret - b.ret)[0];
    const call = Math.min(...tried.map((r) => r.call));
    const allExpired = tried.every((r) => r.status === 'done' && isExpired(r));
    if (answered) out.push({ ...answered, call });
    else if (allExpired) out.push(tried[0]!);
    else out.push({ ...tried[0]!, call, status: 'unknown', ret: Infinity, result: undefined });
  }
  return out;
}

export function historyOf(allRecords: readonly OpRecord[], reads: readonly ReadRecord[], expiries: readonly SessionEndSeen[]): NodeOperation[] {
  const records = mergeRetries(allRecords);
  const attempts = ephemeralAttempts(records);
  const history: NodeOperation[] = [];
  for (const record of records) {
    if (record.status === 'refused') continue;
    const { txn } = record;
    const pairs =
      txn.type === 'write' ? projectWrite(record, txn.ops, txn.sessionId)
      : txn.type === 'closeSession' ? projectClose(record, txn.sessionId, attempts)
      : txn.type === 'watch' ? projectWatch(record, txn.request)
      : [];
    const ret = record.status === 'done' ? record.ret : Infinity;
    for (const [input, output] of pairs) history.push({ clientId: record.client, input, call: record.call, return: ret, output });
  }
  for (const { session, time } of expiries) {
    for (const path of attempts.get(session) ?? []) {
      history.push({ clientId: 'leader expiries', input: { op: 'closeSession', path, session }, call: time, return: time, output: { ok: true } });
    }
  }
  for (const read of reads) {
    history.push({ clientId: read.client, input: { op: 'read', path: read.path }, call: read.call, return: read.ret, output: read.output });
  }
  return history;
}

/**
 * A ProposalRequest and a ProposalOutcome field by field in the binary layout of
 * src/node/wire-bytes.ts: the form proposals and answers take between members that advertise
 * it (peer-wire.ts, PROPOSAL_LAYOUT). No JSON text inside the frame and no plain value on the
 * way: a forwarded setData's proposal and answer took ~11 µs to encode and decode as JSON text
 * and ~2 µs this way (BENCHMARKS.md, "Forwarded proposals in binary").
 *
 * Reading checks what proposal-values.ts checks of the JSON form (types, ranges, the names of
 * modes, codes and ops, ACL entries, the same bounds) and throws a PeerWireError for anything
 * else; decodeWire turns it into a value. The leader still judges a proposal's meaning itself.
 */
import { parseAclJson, type Acl } from '../../core/acl/acl.ts';
import type { ZkError } from '../../core/errors.ts';
import type { OpResult, WatchResult } from '../../core/tree/results.ts';
import type { WatchRequest, WriteOp } from '../../core/tree/txn.ts';
import { CREATE_MODES, type Stat } from '../../core/tree/znode.ts';
import { PeerWireError, type Reader, type Writer } from '../wire-bytes.ts';
import type { ClientTxn, Proposal, ProposalOutcome, ProposalRequest } from './proposal.ts';
import { CHILDREN_MAX, ERROR_CODES, IDENTITIES_MAX, OPS_MAX, STAT_FIELDS } from './proposal-values.ts';

// Each list below is the layout's: a value is written as its index, so only append to them.
const PROPOSALS = ['keepalive', 'txn'] as const;
const TXNS = ['write', 'createSession', 'closeSession', 'watch'] as const;
const OPS = ['create', 'delete', 'setData', 'check', 'setACL'] as const;
const END_REASONS = ['closed', 'expired'] as const;
const WATCH_OPS = ['getData', 'exists', 'getChildren', 'addWatch', 'removeWatches'] as const;
const PERSISTENT_MODES = ['persistent', 'persistent_recursive'] as const;
const REMOVE_TYPES = ['data', 'children', 'any'] as const;
const RESULTS = ['none', 'write', 'session', 'watch'] as const;
/** The smallest a list item can be written in: a string's or a blob's length. */
const ITEM_MIN_BYTES = 4;
/** An ACL entry: perms, then the scheme's and the id's lengths. */
const ACL_ENTRY_MIN_BYTES = 16;
const ACL_ENTRIES_MAX = 1000;

const indexIn = <T>(names: readonly T[], value: T): number => names.indexOf(value);

// Requests.

export function writeRequest(w: Writer, request: ProposalRequest): void {
  writeProposal(w, request.proposal);
  w.num(request.identities.length);
  for (const identity of request.identities) w.str(identity);
  w.num(request.deadlineMs);
}

function writeProposal(w: Writer, proposal: Proposal): void {
  w.u8(indexIn(PROPOSALS, proposal.type));
  if (proposal.type === 'keepalive') return w.num(proposal.sessionId);
  const txn = proposal.txn;
  w.u8(indexIn(TXNS, txn.type));
  switch (txn.type) {
    case 'write':
      w.u8(txn.multi ? 1 : 0);
      w.num(txn.sessionId);
      w.u8(txn.request === undefined ? 0 : 1);
      if (txn.request !== undefined) {
        w.str(txn.request.client);
        w.str(txn.request.id);
      }
      w.num(txn.ops.length);
      for (const op of txn.ops) writeOp(w, op);
      return;
    case 'createSession':
      w.num(txn.timeoutMs);
      return w.str(txn.tokenHash);
    case 'closeSession':
      w.num(txn.sessionId);
      return w.u8(indexIn(END_REASONS, txn.reason));
    case 'watch':
      w.num(txn.sessionId);
      return writeWatchRequest(w, txn.request);
  }
}

function writeOp(w: Writer, op: WriteOp): void {
  w.u8(indexIn(OPS, op.type));
  w.str(op.path);
  switch (op.type) {
    case 'create':
      w.bytes(op.data);
      w.u8(indexIn(CREATE_MODES, op.mode));
      w.num(op.ttlMs);
      return writeAcl(w, op.acl);
    case 'setACL':
      writeAcl(w, op.acl);
      return w.num(op.version);
    case 'setData':
      w.bytes(op.data);
      return w.num(op.version);
    case 'delete':
    case 'check':
      return w.num(op.version);
  }
}

function writeAcl(w: Writer, acl: Acl): void {
  w.num(acl.length);
  for (const entry of acl) {
    w.num(entry.perms);
    w.str(entry.scheme);
    w.str(entry.id);
  }
}

function writeWatchRequest(w: Writer, request: WatchRequest): void {
  w.u8(indexIn(WATCH_OPS, request.op));
  w.str(request.path);
  if (request.op === 'addWatch') w.u8(indexIn(PERSISTENT_MODES, request.mode));
  if (request.op === 'removeWatches') w.u8(indexIn(REMOVE_TYPES, request.watchType));
}

export function readRequest(r: Reader): ProposalRequest {
  const proposal = readProposal(r);
  const identities: string[] = [];
  for (let i = r.items('identities', IDENTITIES_MAX, ITEM_MIN_BYTES); i > 0; i--) identities.push(r.str());
  return { proposal, identities, deadlineMs: r.int('deadlineMs') };
}

function readProposal(r: Reader): Proposal {
  if (r.oneOf(PROPOSALS, 'proposal type') === 'keepalive') return { type: 'keepalive', sessionId: r.num('sessionId') };
  return { type: 'txn', txn: readTxn(r) };
}

function readTxn(r: Reader): ClientTxn {
  switch (r.oneOf(TXNS, 'txn type')) {
    case 'write': {
      const multi = r.flag('multi');
      const sessionId = r.num('sessionId');
      const request = r.flag('request id flag') ? { client: r.str(), id: r.str() } : undefined;
      const ops: WriteOp[] = [];
      for (let i = r.items('ops', OPS_MAX, 1); i > 0; i--) ops.push(readOp(r));
      return request === undefined ? { type: 'write', ops, multi, sessionId } : { type: 'write', ops, multi, sessionId, request };
    }
    case 'createSession':
      return { type: 'createSession', timeoutMs: r.num('timeoutMs'), tokenHash: r.str() };
    case 'closeSession':
      return { type: 'closeSession', sessionId: r.num('sessionId'), reason: r.oneOf(END_REASONS, 'reason') };
    case 'watch':
      return { type: 'watch', sessionId: r.num('sessionId'), request: readWatchRequest(r) };
  }
}

function readOp(r: Reader): WriteOp {
  const type = r.oneOf(OPS, 'op type');
  const path = r.str();
  switch (type) {
    case 'create':
      return { type, path, data: r.bytes(), mode: r.oneOf(CREATE_MODES, 'create mode'), ttlMs: r.int('ttlMs'), acl: readAcl(r) };
    case 'setACL':
      return { type, path, acl: readAcl(r), version: r.int('version') };
    case 'setData':
      return { type, path, data: r.bytes(), version: r.int('version') };
    case 'delete':
    case 'check':
      return { type, path, version: r.int('version') };
  }
}

/** Checked as a client's ACL is (perms within cdrwa, a scheme's name, an id's length). */
function readAcl(r: Reader): Acl {
  const entries: Array<{ perms: number; scheme: string; id: string }> = [];
  for (let i = r.items('ACL entries', ACL_ENTRIES_MAX, ACL_ENTRY_MIN_BYTES); i > 0; i--) entries.push({ perms: r.num('perms'), scheme: r.str(), id: r.str() });
  const acl = parseAclJson(entries);
  if ('code' in acl) throw new PeerWireError(`an ACL: ${acl.message}`);
  return acl;
}

function readWatchRequest(r: Reader): WatchRequest {
  const op = r.oneOf(WATCH_OPS, 'watch op');
  const path = r.str();
  if (op === 'addWatch') return { op, path, mode: r.oneOf(PERSISTENT_MODES, 'watch mode') };
  if (op === 'removeWatches') return { op, path, watchType: r.oneOf(REMOVE_TYPES, 'watch type') };
  return { op, path };
}

// Outcomes.

type AnyResult = NonNullable<Extract<ProposalOutcome, { ok: true }>['result']>;

export function writeOutcome(w: Writer, outcome: ProposalOutcome): void {
  w.u8(outcome.ok ? 1 : 0);
  if (!outcome.ok) {
    writeError(w, outcome.error);
    return writeOptionalCount(w, outcome.failedOp);
  }
  w.num(outcome.zxid);
  writeResult(w, outcome.result);
}

function writeResult(w: Writer, result: AnyResult | undefined): void {
  if (result === undefined) return w.u8(indexIn(RESULTS, 'none'));
  if ('watch' in result) {
    w.u8(indexIn(RESULTS, 'watch'));
    return writeWatchResult(w, result);
  }
  const write = 'results' in result || 'failedOp' in result;
  w.u8(indexIn(RESULTS, write ? 'write' : 'session'));
  w.u8(result.ok ? 1 : 0);
  if (!result.ok) {
    writeError(w, result.error);
    return writeOptionalCount(w, 'failedOp' in result ? result.failedOp : undefined);
  }
  if (!('results' in result)) return w.num(result.sessionId);
  w.num(result.results.length);
  for (const op of result.results) {
    w.u8(indexIn(OPS, op.type));
    w.str(op.path);
    if ('stat' in op) writeStat(w, op.stat);
  }
}

function writeWatchResult(w: Writer, result: WatchResult): void {
  w.u8(result.ok ? 1 : 0);
  if (!result.ok) return writeError(w, result.error);
  w.u8(result.stat === undefined ? 0 : 1);
  if (result.stat !== undefined) writeStat(w, result.stat);
  w.u8(result.data === undefined ? 0 : 1);
  if (result.data !== undefined) w.bytes(result.data);
  w.u8(result.children === undefined ? 0 : 1);
  if (result.children === undefined) return;
  w.num(result.children.length);
  for (const child of result.children) w.str(child);
}

function writeError(w: Writer, error: ZkError): void {
  w.str(error.code);
  w.str(error.message);
  w.optionalStr(error.path);
  w.u8(error.tooLarge === true ? 1 : 0);
}

function writeOptionalCount(w: Writer, value: number | undefined): void {
  w.u8(value === undefined ? 0 : 1);
  if (value !== undefined) w.num(value);
}

function writeStat(w: Writer, stat: Stat): void {
  for (const field of STAT_FIELDS) w.num(stat[field]);
}

export function readOutcome(r: Reader): ProposalOutcome {
  if (!r.flag('ok')) {
    const error = readError(r);
    const failedOp = readOptionalCount(r, 'failedOp');
    return failedOp === undefined ? { ok: false, error } : { ok: false, error, failedOp };
  }
  return { ok: true, zxid: r.num('zxid'), result: readResult(r) };
}

function readResult(r: Reader): AnyResult | undefined {
  const kind = r.oneOf(RESULTS, 'result kind');
  if (kind === 'none') return undefined;
  if (kind === 'watch') return readWatchResult(r);
  if (!r.flag('result ok')) {
    const error = readError(r);
    const failedOp = readOptionalCount(r, 'failedOp');
    if (kind === 'session' && failedOp === undefined) return { ok: false, error };
    if (kind === 'write' && failedOp !== undefined) return { ok: false, failedOp, error };
    throw new PeerWireError(`a failed ${kind} result ${failedOp === undefined ? 'without' : 'with'} a failed op`);
  }
  if (kind === 'session') return { ok: true, sessionId: r.num('sessionId') };
  const results: OpResult[] = [];
  for (let i = r.items('results', OPS_MAX, 1 + ITEM_MIN_BYTES); i > 0; i--) results.push(readOpResult(r));
  return { ok: true, results };
}

function readOpResult(r: Reader): OpResult {
  const type = r.oneOf(OPS, 'result type');
  const path = r.str();
  return type === 'delete' || type === 'check' ? { type, path } : { type, path, stat: readStat(r) };
}

function readWatchResult(r: Reader): WatchResult {
  if (!r.flag('watch result ok')) return { ok: false, watch: true, error: readError(r) };
  const stat = r.flag('stat flag') ? readStat(r) : undefined;
  const data = r.flag('data flag') ? r.bytes() : undefined;
  let children: string[] | undefined;
  if (r.flag('children flag')) {
    children = [];
    for (let i = r.items('children', CHILDREN_MAX, ITEM_MIN_BYTES); i > 0; i--) children.push(r.str());
  }
  return {
    ok: true, watch: true,
    ...(stat === undefined ? {} : { stat }),
    ...(data === undefined ? {} : { data }),
    ...(children === undefined ? {} : { children }),
  };
}

function readError(r: Reader): ZkError {
  const code = r.str();
  if (!(ERROR_CODES as readonly string[]).includes(code)) throw new PeerWireError(`error code ${code} is not one this member knows`);
  const message = r.str();
  const path = r.optionalStr('error path flag');
  const tooLarge = r.flag('tooLarge');
  return { code: code as ZkError['code'], message, ...(path === undefined ? {} : { path }), ...(tooLarge ? { tooLarge: true as const } : {}) };
}

function readOptionalCount(r: Reader, what: string): number | undefined {
  return r.flag(`${what} flag`) ? r.num(what) : undefined;
}

/** In STAT_FIELDS' order, as writeStat writes them (a literal: one shape, no keyed stores). */
function readStat(r: Reader): Stat {
  return {
    czxid: r.int('czxid'), mzxid: r.int('mzxid'), pzxid: r.int('pzxid'), ctime: r.int('ctime'), mtime: r.int('mtime'),
    version: r.int('version'), cversion: r.int('cversion'), aversion: r.int('aversion'), ephemeralOwner: r.int('ephemeralOwner'),
    dataLength: r.int('dataLength'), numChildren: r.int('numChildren'),
  };
}

/**
 * A ProposalRequest and a ProposalOutcome as plain values (objects, arrays, strings, numbers),
 * the form both peer encodings carry: JSON frames (proposal-codec.ts) and binary ones
 * (src/node/peer-wire.ts). Bytes — a write's data, a watched read's data — go through a
 * BytesCodec: base64 text in JSON, an index into the frame's byte blobs in binary.
 *
 * Reading is defensive: a member's message is checked field by field (type, range, the known
 * names of modes, codes and ops) and anything else is a MalformedProposal value, never a throw
 * and never a half-read proposal. The leader still judges a proposal's meaning itself
 * (leader-proposals.ts): a well-formed proposal can be a wrong one.
 */
import { parseAclJson, type Acl } from '../../core/acl/acl.ts';
import { ZK_CODES, type ZkError } from '../../core/errors.ts';
import type { OpResult, WatchResult } from '../../core/tree/results.ts';
import type { RequestTag, WatchRequest, WriteOp } from '../../core/tree/txn.ts';
import { CREATE_MODES, type CreateMode, type Stat } from '../../core/tree/znode.ts';
import type { ClientTxn, Proposal, ProposalOutcome, ProposalRequest } from './proposal.ts';

/** How bytes travel inside the plain value. */
export interface BytesCodec {
  put(bytes: Uint8Array): unknown;
  /** The bytes `raw` stands for, or undefined when it stands for none. */
  get(raw: unknown): Uint8Array | undefined;
}

export class MalformedProposal extends Error {
  override readonly name = 'MalformedProposal';
}

/** Bounds a message may not exceed (a multi's ops, a caller's identities, children listed). */
export const OPS_MAX = 1000;
export const IDENTITIES_MAX = 64;
export const CHILDREN_MAX = 1_000_000;
export const STAT_FIELDS = ['czxid', 'mzxid', 'pzxid', 'ctime', 'mtime', 'version', 'cversion', 'aversion', 'ephemeralOwner', 'dataLength', 'numChildren'] as const;
export const ERROR_CODES = Object.keys(ZK_CODES).filter((code) => code !== 'OK') as Array<ZkError['code']>;

// Reading: each helper answers the value or throws Malformed, caught once at the top.

const fail = (what: string): never => {
  throw new MalformedProposal(what);
};
function obj(v: unknown, what: string): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(`${what} is not an object`);
}
function arr(v: unknown, max: number, what: string): unknown[] {
  if (!Array.isArray(v)) return fail(`${what} is not a list`);
  return v.length <= max ? v : fail(`${what} has ${v.length} items, over ${max}`);
}
const str = (v: unknown, what: string): string => (typeof v === 'string' ? v : fail(`${what} is not a string`));
const bool = (v: unknown, what: string): boolean => (typeof v === 'boolean' ? v : fail(`${what} is not a boolean`));
const int = (v: unknown, what: string): number => (Number.isSafeInteger(v) ? (v as number) : fail(`${what} is not an integer`));
const count = (v: unknown, what: string): number => (int(v, what) >= 0 ? (v as number) : fail(`${what} is negative`));
function oneOf<T extends string>(v: unknown, names: readonly T[], what: string): T {
  return names.includes(v as T) ? (v as T) : fail(`${what} is not one of ${names.join(', ')}`);
}
function bytesOf(v: unknown, codec: BytesCodec, what: string): Uint8Array {
  return codec.get(v) ?? fail(`${what} is not bytes`);
}
function attempt<T>(read: () => T): T | MalformedProposal {
  try {
    return read();
  } catch (error) {
    if (error instanceof MalformedProposal) return error;
    throw error;
  }
}

// Requests.

export function plainRequest(request: ProposalRequest, codec: BytesCodec): unknown {
  const { proposal, identities, deadlineMs } = request;
  return { proposal: proposal.type === 'keepalive' ? proposal : { type: 'txn', txn: plainTxn(proposal.txn, codec) }, identities, deadlineMs };
}

function plainTxn(txn: ClientTxn, codec: BytesCodec): unknown {
  // A txn prepared here carries its auth: the leader takes the request's identities instead.
  const { auth: _auth, ...plain } = txn as ClientTxn & { auth?: unknown };
  if (plain.type !== 'write') return plain;
  return { ...plain, ops: plain.ops.map((op) => ('data' in op ? { ...op, data: codec.put(op.data) } : op)) };
}

export function readRequest(raw: unknown, codec: BytesCodec): ProposalRequest | MalformedProposal {
  return attempt(() => {
    const m = obj(raw, 'request');
    const identities = arr(m['identities'], IDENTITIES_MAX, 'identities').map((v, i) => str(v, `identities[${i}]`));
    const deadlineMs = int(m['deadlineMs'], 'deadlineMs');
    return { proposal: readProposal(obj(m['proposal'], 'proposal'), codec), identities, deadlineMs };
  });
}

function readProposal(p: Record<string, unknown>, codec: BytesCodec): Proposal {
  if (p['type'] === 'keepalive') return { type: 'keepalive', sessionId: count(p['sessionId'], 'sessionId') };
  if (p['type'] !== 'txn') return fail('proposal type is neither txn nor keepalive');
  const t = obj(p['txn'], 'txn');
  switch (t['type']) {
    case 'write': {
      const ops = arr(t['ops'], OPS_MAX, 'ops').map((op, i) => readOp(obj(op, `ops[${i}]`), codec, `ops[${i}]`));
      const request = t['request'] === undefined ? undefined : readTag(obj(t['request'], 'request id'));
      const txn = { type: 'write' as const, ops, multi: bool(t['multi'], 'multi'), sessionId: count(t['sessionId'], 'sessionId') };
      return { type: 'txn', txn: request === undefined ? txn : { ...txn, request } };
    }
    case 'createSession':
      return { type: 'txn', txn: { type: 'createSession', timeoutMs: count(t['timeoutMs'], 'timeoutMs'), tokenHash: str(t['tokenHash'], 'tokenHash') } };
    case 'closeSession':
      return { type: 'txn', txn: { type: 'closeSession', sessionId: count(t['sessionId'], 'sessionId'), reason: oneOf(t['reason'], ['closed', 'expired'] as const, 'reason') } };
    case 'watch':
      return { type: 'txn', txn: { type: 'watch', sessionId: count(t['sessionId'], 'sessionId'), request: readWatchRequest(obj(t['request'], 'watch request')) } };
    default:
      return fail('txn type is not one a client proposes');
  }
}

function readTag(t: Record<string, unknown>): RequestTag {
  return { client: str(t['client'], 'request client'), id: str(t['id'], 'request id') };
}

function readOp(op: Record<string, unknown>, codec: BytesCodec, what: string): WriteOp {
  const path = str(op['path'], `${what}.path`);
  switch (op['type']) {
    case 'create':
      return {
        type: 'create', path, data: bytesOf(op['data'], codec, `${what}.data`), mode: oneOf<CreateMode>(op['mode'], CREATE_MODES, `${what}.mode`),
        ttlMs: int(op['ttlMs'], `${what}.ttlMs`), acl: readAcl(op['acl'], `${what}.acl`),
      };
    case 'setACL':
      return { type: 'setACL', path, acl: readAcl(op['acl'], `${what}.acl`), version: int(op['version'], `${what}.version`) };
    case 'setData':
      return { type: 'setData', path, data: bytesOf(op['data'], codec, `${what}.data`), version: int(op['version'], `${what}.version`) };
    case 'delete':
    case 'check':
      return { type: op['type'], path, version: int(op['version'], `${what}.version`) };
    default:
      return fail(`${what}.type is not a write op`);
  }
}

function readAcl(raw: unknown, what: string): Acl {
  const acl = parseAclJson(raw);
  return 'code' in acl ? fail(`${what}: ${acl.message}`) : acl;
}

function readWatchRequest(w: Record<string, unknown>): WatchRequest {
  const path = str(w['path'], 'watch path');
  switch (w['op']) {
    case 'getData':
    case 'exists':
    case 'getChildren':
      return { op: w['op'], path };
    case 'addWatch':
      return { op: 'addWatch', path, mode: oneOf(w['mode'], ['persistent', 'persistent_recursive'] as const, 'watch mode') };
    case 'removeWatches':
      return { op: 'removeWatches', path, watchType: oneOf(w['watchType'], ['data', 'children', 'any'] as const, 'watch type') };
    default:
      return fail('watch op is not one a client proposes');
  }
}

// Outcomes.

type AnyResult = Extract<ProposalOutcome, { ok: true }>['result'];

export function plainOutcome(outcome: ProposalOutcome, codec: BytesCodec): unknown {
  if (!outcome.ok || outcome.result === undefined || !('watch' in outcome.result) || !outcome.result.ok) return outcome;
  const { data } = outcome.result;
  return data === undefined ? outcome : { ...outcome, result: { ...outcome.result, data: codec.put(data) } };
}

export function readOutcome(raw: unknown, codec: BytesCodec): ProposalOutcome | MalformedProposal {
  return attempt((): ProposalOutcome => {
    const m = obj(raw, 'outcome');
    if (!bool(m['ok'], 'ok')) {
      const error = readError(m['error']);
      return m['failedOp'] === undefined ? { ok: false, error } : { ok: false, error, failedOp: count(m['failedOp'], 'failedOp') };
    }
    const zxid = count(m['zxid'], 'zxid');
    return { ok: true, zxid, result: m['result'] === undefined ? undefined : readResult(obj(m['result'], 'result'), codec) };
  });
}

function readError(raw: unknown): ZkError {
  const e = obj(raw, 'error');
  const error: ZkError = { code: oneOf(e['code'], ERROR_CODES, 'error code'), message: str(e['message'], 'error message') };
  const path = e['path'] === undefined ? {} : { path: str(e['path'], 'error path') };
  if (e['tooLarge'] !== undefined && e['tooLarge'] !== true) fail('tooLarge is not true');
  return { ...error, ...path, ...(e['tooLarge'] === true ? { tooLarge: true as const } : {}) };
}

function readResult(r: Record<string, unknown>, codec: BytesCodec): NonNullable<AnyResult> {
  if (r['watch'] === true) return readWatchResult(r, codec);
  if (!bool(r['ok'], 'result ok')) {
    const error = readError(r['error']);
    return r['failedOp'] === undefined ? { ok: false, error } : { ok: false, failedOp: count(r['failedOp'], 'failedOp'), error };
  }
  if (r['results'] === undefined) return { ok: true, sessionId: count(r['sessionId'], 'sessionId') };
  return { ok: true, results: arr(r['results'], OPS_MAX, 'results').map((o, i) => readOpResult(obj(o, `results[${i}]`), `results[${i}]`)) };
}

function readOpResult(o: Record<string, unknown>, what: string): OpResult {
  const path = str(o['path'], `${what}.path`);
  switch (o['type']) {
    case 'create':
    case 'setData':
    case 'setACL':
      return { type: o['type'], path, stat: readStat(o['stat']) };
    case 'delete':
    case 'check':
      return { type: o['type'], path };
    default:
      return fail(`${what}.type is not a write op`);
  }
}

function readWatchResult(r: Record<string, unknown>, codec: BytesCodec): WatchResult {
  if (!bool(r['ok'], 'result ok')) return { ok: false, watch: true, error: readError(r['error']) };
  return {
    ok: true, watch: true,
    ...(r['stat'] === undefined ? {} : { stat: readStat(r['stat']) }),
    ...(r['data'] === undefined ? {} : { data: bytesOf(r['data'], codec, 'data') }),
    ...(r['children'] === undefined ? {} : { children: arr(r['children'], CHILDREN_MAX, 'children').map((c, i) => str(c, `children[${i}]`)) }),
  };
}

function readStat(raw: unknown): Stat {
  const s = obj(raw, 'stat');
  const stat: Record<string, number> = {};
  for (const field of STAT_FIELDS) stat[field] = int(s[field], `stat.${field}`);
  return stat as unknown as Stat;
}

// Bytes as base64 text (JSON frames).

export const BASE64_BYTES: BytesCodec = {
  put: (bytes) => (bytes.length === 0 ? '' : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')),
  get: (raw) => {
    if (typeof raw !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(raw)) return undefined;
    return new Uint8Array(Buffer.from(raw, 'base64'));
  },
};

/** Bytes as indexes into a list carried beside the plain value (binary frames). */
export function blobBytes(blobs: Uint8Array[]): BytesCodec {
  return {
    put: (bytes) => blobs.push(bytes) - 1,
    get: (raw) => (Number.isSafeInteger(raw) && (raw as number) >= 0 ? blobs[raw as number] : undefined),
  };
}

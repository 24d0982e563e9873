/**
 * Reading a request record back (from a checkpoint row or a leader's checkpoint message): every
 * field checked, the result rebuilt field by field, so a damaged or foreign record is refused
 * (undefined) rather than answered to a client as if it were a first result.
 */
import { ZK_CODES, type ZkError } from '../errors.ts';
import type { RequestRecord } from './request-table.ts';
import type { OpResult, WriteResult } from './results.ts';
import type { Stat } from './znode.ts';

type Fields = Record<string, unknown>;

const STAT_FIELDS = [
  'czxid', 'mzxid', 'pzxid', 'ctime', 'mtime', 'version', 'cversion', 'aversion', 'ephemeralOwner', 'dataLength', 'numChildren',
] as const;

const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isCount = (v: unknown): v is number => isInt(v) && v >= 0;
const isCode = (v: unknown): v is ZkError['code'] => typeof v === 'string' && v !== 'OK' && Object.hasOwn(ZK_CODES, v);

function statOf(raw: unknown): Stat | undefined {
  if (!isObject(raw)) return undefined;
  const stat: Record<string, number> = {};
  for (const field of STAT_FIELDS) {
    const v = raw[field];
    if (!isInt(v)) return undefined;
    stat[field] = v;
  }
  return stat as unknown as Stat;
}

function opResultOf(raw: unknown): OpResult | undefined {
  if (!isObject(raw) || typeof raw['path'] !== 'string') return undefined;
  const path = raw['path'];
  switch (raw['type']) {
    case 'create':
    case 'setData': {
      const stat = statOf(raw['stat']);
      return stat && { type: raw['type'], path, stat };
    }
    case 'delete':
    case 'check':
      return { type: raw['type'], path };
    default:
      return undefined;
  }
}

function errorOf(raw: unknown): ZkError | undefined {
  if (!isObject(raw) || !isCode(raw['code']) || typeof raw['message'] !== 'string') return undefined;
  const { code, message, path, tooLarge } = raw;
  if (path !== undefined && typeof path !== 'string') return undefined;
  if (tooLarge !== undefined && tooLarge !== true) return undefined;
  return { code, message, ...(path === undefined ? {} : { path }), ...(tooLarge === true ? { tooLarge } : {}) };
}

/** A write's result as stored, or undefined when it is not one. */
export function parseWriteResult(raw: unknown): WriteResult | undefined {
  if (!isObject(raw)) return undefined;
  if (raw['ok'] === true) {
    const list = raw['results'];
    if (!Array.isArray(list)) return undefined;
    const results: OpResult[] = [];
    for (const item of list) {
      const result = opResultOf(item);
      if (!result) return undefined;
      results.push(result);
    }
    return { ok: true, results };
  }
  if (raw['ok'] !== false || !isCount(raw['failedOp'])) return undefined;
  const error = errorOf(raw['error']);
  return error && { ok: false, failedOp: raw['failedOp'], error };
}

/** A request record as stored, or undefined when it is not one. */
export function parseRequestRecord(raw: unknown): RequestRecord | undefined {
  if (!isObject(raw)) return undefined;
  const { client, id, zxid, digest } = raw;
  if (typeof client !== 'string' || client === '' || typeof id !== 'string' || id === '' || !isCount(zxid) || zxid === 0) return undefined;
  if (typeof digest !== 'string' || !/^[0-9a-f]{16}$/.test(digest)) return undefined;
  const result = parseWriteResult(raw['result']);
  return result && { client, id, zxid, digest, result };
}

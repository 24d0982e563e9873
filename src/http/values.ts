/** Converting between the tree's values and the contract's JSON, and parsing request values. */
import { isUtf8 } from 'node:buffer';
import type { Stat } from '../core/tree/znode.ts';
import { decimal } from '../core/decimal.ts';
import { badRequest } from './errors.ts';

export interface StatJson {
  czxid: string; mzxid: string; pzxid: string; ctime: number; mtime: number; version: number;
  cversion: number; aversion: number; ephemeralOwner: string; dataLength: number; numChildren: number;
}

export function statJson(stat: Stat): StatJson {
  return {
    czxid: String(stat.czxid), mzxid: String(stat.mzxid), pzxid: String(stat.pzxid),
    ctime: stat.ctime, mtime: stat.mtime, version: stat.version, cversion: stat.cversion,
    aversion: stat.aversion, ephemeralOwner: String(stat.ephemeralOwner),
    dataLength: stat.dataLength, numChildren: stat.numChildren,
  };
}

/**
 * `JSON.stringify(statJson(stat))`, written directly: the direct path answers a Stat with
 * almost every call, and the object and its string conversions were a visible share of it.
 */
export function statJsonText(stat: Stat): string {
  return `{"czxid":"${decimal(stat.czxid)}","mzxid":"${decimal(stat.mzxid)}","pzxid":"${decimal(stat.pzxid)}","ctime":${decimal(stat.ctime)},"mtime":${decimal(stat.mtime)},` +
    `"version":${stat.version},"cversion":${stat.cversion},"aversion":${stat.aversion},"ephemeralOwner":"${decimal(stat.ephemeralOwner)}",` +
    `"dataLength":${stat.dataLength},"numChildren":${stat.numChildren}}`;
}

export type Encoding = 'utf8' | 'base64';

/** utf8 when the bytes are valid UTF-8 (unless base64 is forced), else base64. */
export function encodeData(data: Uint8Array, force: Encoding | undefined): { data: string; encoding: Encoding } {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.length);
  if (force !== 'base64' && isUtf8(buffer)) return { data: buffer.toString('utf8'), encoding: 'utf8' };
  return { data: buffer.toString('base64'), encoding: 'base64' };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeData(data: string, encoding: Encoding, path?: string): Uint8Array {
  if (encoding === 'utf8') return new Uint8Array(Buffer.from(data, 'utf8'));
  if (!BASE64.test(data)) throw badRequest('data is not valid base64', path);
  return new Uint8Array(Buffer.from(data, 'base64'));
}

export function parseEncoding(raw: string | undefined): Encoding | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'utf8' || raw === 'base64') return raw;
  throw badRequest(`encoding must be utf8 or base64, got "${raw}"`);
}

export function parseBoolean(raw: string | undefined, name: string): boolean {
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1' || raw === '') return true;
  throw badRequest(`${name} must be true or false, got "${raw}"`);
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export function parseVersion(raw: string, path?: string): number {
  const n = /^-?\d{1,11}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < INT32_MIN || n > INT32_MAX) {
    throw badRequest(`version must be a 32-bit integer, got "${raw}"`, path);
  }
  return n;
}

/** The expected version from `?version=N` or `If-Match: "N"`; -1 (any) when neither is given. */
export function expectedVersion(query: string | undefined, ifMatch: string | undefined, path: string): number {
  const fromQuery = query === undefined ? undefined : parseVersion(query, path);
  let fromHeader: number | undefined;
  if (ifMatch !== undefined) {
    const tag = ifMatch.trim().replace(/^W\//, '');
    fromHeader = tag === '*' ? -1 : parseVersion(tag.replace(/^"(.*)"$/, '$1'), path);
  }
  if (fromQuery !== undefined && fromHeader !== undefined && fromQuery !== fromHeader) {
    throw badRequest('version and If-Match disagree', path);
  }
  return fromQuery ?? fromHeader ?? -1;
}

/** A zxid given by a client (Zk-Min-Zxid, fromZxid): decimal digits. */
export function parseZxid(raw: string, name: string): number {
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw badRequest(`${name} must be a zxid (decimal digits), got "${raw}"`);
  }
  return Number(raw);
}

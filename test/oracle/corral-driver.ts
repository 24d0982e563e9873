// Runs oracle ops against Corral over HTTP (the contract in /work/shared/API.md) and returns the
// same outcome shape as the ZooKeeper driver. Anything that does not fit the contract (wrong
// status for the shape, malformed Stat, unparsable body) comes back as code 'PROTOCOL' with a
// detail, so it shows up as a mismatch instead of a crash.
import type { CreateMode, Op, Outcome, Stat, SubOp, SubResult } from './ops.ts';

const REQUEST_TIMEOUT_MS = 10_000;

export function znodeUrlPath(prefix: string, path: string): string {
  return prefix + path.split('/').map(encodeURIComponent).join('/');
}

export function parseStat(raw: unknown): Stat {
  const s = raw as Record<string, unknown>;
  const zxid = (k: string): bigint => {
    const v = s[k];
    if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new Error(`stat.${k} is not a decimal string: ${JSON.stringify(v)}`);
    return BigInt(v);
  };
  const num = (k: string): number => {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`stat.${k} is not an integer: ${JSON.stringify(v)}`);
    return v;
  };
  if (typeof s.ephemeralOwner !== 'string') throw new Error('stat.ephemeralOwner is not a string');
  return {
    czxid: zxid('czxid'), mzxid: zxid('mzxid'), pzxid: zxid('pzxid'), ctime: num('ctime'),
    mtime: num('mtime'), version: num('version'), cversion: num('cversion'), aversion: num('aversion'),
    ephemeralOwner: s.ephemeralOwner, dataLength: num('dataLength'), numChildren: num('numChildren'),
  };
}

export function dataOf(body: { data?: unknown; encoding?: unknown }): string {
  if (typeof body.data !== 'string') throw new Error('data is not a string');
  if (body.encoding === 'base64') return body.data;
  if (body.encoding === 'utf8') return Buffer.from(body.data, 'utf8').toString('base64');
  throw new Error(`unknown encoding ${JSON.stringify(body.encoding)}`);
}

type Json = Record<string, unknown>;

export function errorOutcome(status: number, body: Json): Outcome {
  if (typeof body.code !== 'string') return { ok: false, code: 'PROTOCOL', detail: `HTTP ${status} without code` };
  const out: Outcome = { ok: false, code: body.code };
  if (typeof body.failedOp === 'number') out.failedOp = body.failedOp;
  if (Array.isArray(body.results)) {
    out.results = (body.results as Json[]).map((r) => ({ op: String(r.op), code: String(r.code) }));
  }
  return out;
}

function subResult(sub: SubOp, r: Json): SubResult {
  if (typeof r.code === 'string' && (sub.op === 'getData' || sub.op === 'getChildren')) {
    return { op: sub.op, path: String(r.path), code: r.code };
  }
  if (r.op !== sub.op) throw new Error(`result op ${JSON.stringify(r.op)} for a ${sub.op}`);
  switch (sub.op) {
    case 'create': return { op: 'create', path: String(r.path), stat: parseStat(r.stat) };
    case 'setData': return { op: 'setData', stat: parseStat(r.stat) };
    case 'delete': case 'check': return { op: sub.op };
    case 'getData': return { op: 'getData', path: String(r.path), data: dataOf(r), stat: parseStat(r.stat) };
    case 'getChildren': {
      if (!Array.isArray(r.children)) throw new Error('children is not an array');
      // As answered: the contract sorts them (ZooKeeper's side is sorted by its driver).
      return { op: 'getChildren', path: String(r.path), children: r.children as string[] };
    }
  }
}

function multiBody(ops: SubOp[]): string {
  return JSON.stringify({
    ops: ops.map((o) => {
      if (o.op === 'create' || o.op === 'setData') return { ...o, encoding: 'base64' };
      return o;
    }),
  });
}

const query = (mode: CreateMode, ttl: number | undefined): string =>
  `?mode=${mode}${ttl === undefined ? '' : `&ttl=${ttl}`}`;

export class CorralDriver {
  constructor(private readonly baseUrl: string) {}

  async run(op: Op): Promise<Outcome> {
    try {
      return await this.runUnchecked(op);
    } catch (err) {
      return { ok: false, code: 'PROTOCOL', detail: (err as Error).message };
    }
  }

  /** The node's Stat, or null when Corral answers 404 (or 400 for an invalid path). */
  async stat(path: string): Promise<Stat | null> {
    const out = await this.run({ op: 'exists', path });
    if (out.ok && out.stat !== undefined) return out.stat;
    if (!out.ok && (out.code === 'NONODE' || out.code === 'BADARGUMENTS')) return null;
    throw new Error(`exists ${path} on Corral: ${JSON.stringify(out)}`);
  }

  private async runUnchecked(op: Op): Promise<Outcome> {
    const z = (prefix: string, path: string): string => znodeUrlPath(prefix, path);
    switch (op.op) {
      case 'create': {
        const { status, body } = await this.call('POST', z('/v1/znodes', op.path) + query(op.mode, op.ttl), op.data);
        return status === 201 ? { ok: true, path: String(body.path), stat: parseStat(body.stat) } : errorOutcome(status, body);
      }
      case 'setData': {
        const { status, body } = await this.call('PUT', `${z('/v1/znodes', op.path)}?version=${op.version}`, op.data);
        return status === 200 ? { ok: true, stat: parseStat(body.stat) } : errorOutcome(status, body);
      }
      case 'delete': {
        const { status, body } = await this.call('DELETE', `${z('/v1/znodes', op.path)}?version=${op.version}`);
        return status === 204 ? { ok: true } : errorOutcome(status, body);
      }
      case 'exists': {
        const { status, body } = await this.call('GET', z('/v1/stat', op.path));
        return status === 200 ? { ok: true, stat: parseStat(body.stat) } : errorOutcome(status, body);
      }
      case 'getData': {
        const { status, body } = await this.call('GET', `${z('/v1/znodes', op.path)}?encoding=base64`);
        return status === 200 ? { ok: true, data: dataOf(body), stat: parseStat(body.stat) } : errorOutcome(status, body);
      }
      case 'getChildren': {
        const { status, body } = await this.call('GET', z('/v1/children', op.path));
        if (status !== 200) return errorOutcome(status, body);
        if (!Array.isArray(body.children)) throw new Error('children is not an array');
        return { ok: true, children: body.children as string[], stat: parseStat(body.stat) };
      }
      case 'multi': return this.multi(op.ops);
    }
  }

  private async multi(ops: SubOp[]): Promise<Outcome> {
    const { status, body } = await this.call('POST', '/v1/multi', undefined, multiBody(ops));
    if (status !== 200) return errorOutcome(status, body);
    if (!Array.isArray(body.results) || body.results.length !== ops.length) {
      throw new Error(`multi results do not match the ${ops.length} ops`);
    }
    return { ok: true, results: (body.results as Json[]).map((r, i) => subResult(ops[i]!, r)) };
  }

  private async call(method: string, urlPath: string, data64?: string, json?: string): Promise<{ status: number; body: Json }> {
    const headers: Record<string, string> = {};
    let body: Uint8Array<ArrayBuffer> | string | undefined;
    if (data64 !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      body = Uint8Array.from(Buffer.from(data64, 'base64'));
    } else if (json !== undefined) {
      headers['content-type'] = 'application/json';
      body = json;
    }
    const res = await fetch(this.baseUrl + urlPath, {
      method, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    if (res.status >= 500) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
    if (text === '') return { status: res.status, body: {} };
    try {
      return { status: res.status, body: JSON.parse(text) as Json };
    } catch {
      throw new Error(`HTTP ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
    }
  }
}

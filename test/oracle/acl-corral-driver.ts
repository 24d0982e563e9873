// The Corral side of the ACL oracle (src/http/acl-calls.ts, znode-calls.ts, routes/multi.ts):
// every op is an HTTP request carrying its actor's identity as `Authorization: Basic` (none for
// the anonymous actor). ACLs travel as JSON with numeric perms (`Zk-Acl` on a create, `acl` on a
// multi's create, the body of PUT /v1/acl); getACL answers perms as `cdrwa` letters, turned back
// into ZooKeeper's bitmask here so the two sides compare field by field. Anything off-contract
// comes back as code 'PROTOCOL' with a detail, so it shows as a mismatch rather than a crash.
// For the watch test: CorralWatchSession, a session opened with an actor's credentials and its
// event stream (GET /v1/sessions/{id}/events), watched reads sent with ?watch=true.
import { readSse } from '../../src/client/sse.ts';
import { dataOf, errorOutcome, parseStat, znodeUrlPath } from './corral-driver.ts';
import { CREDENTIALS, permsOfLetters, type AclEntry, type AclOp, type AclSubOp, type Actor } from './acl-ops.ts';
import type { AclOutcome, AclSide } from './acl-zk-driver.ts';
import type { Stat, SubResult } from './ops.ts';

const REQUEST_TIMEOUT_MS = 10_000;

type Json = Record<string, unknown>;

export function basicAuthorization(userPassword: string): string {
  return `Basic ${Buffer.from(userPassword, 'utf8').toString('base64')}`;
}

function authHeaders(actor: Actor): Record<string, string> {
  return actor === 'anon' ? {} : { authorization: basicAuthorization(CREDENTIALS[actor]) };
}

/** The ACL as Corral takes it: JSON entries, perms as ZooKeeper's bitmask. */
const aclJson = (acl: readonly AclEntry[]): string => JSON.stringify(acl.map((e) => ({ perms: e.perms, scheme: e.scheme, id: e.id })));

function parseAcl(raw: unknown): AclEntry[] {
  if (!Array.isArray(raw)) throw new Error('acl is not an array');
  return (raw as Json[]).map((e) => {
    if (typeof e.perms !== 'string' || typeof e.scheme !== 'string' || typeof e.id !== 'string') {
      throw new Error(`malformed ACL entry ${JSON.stringify(e)}`);
    }
    const perms = permsOfLetters(e.perms);
    if (perms === undefined) throw new Error(`ACL perms ${JSON.stringify(e.perms)} are not cdrwa letters`);
    return { perms, scheme: e.scheme, id: e.id };
  });
}

function subResult(sub: AclSubOp, r: Json): SubResult {
  if (r.op !== sub.op) throw new Error(`result op ${JSON.stringify(r.op)} for a ${sub.op}`);
  switch (sub.op) {
    case 'create': return { op: 'create', path: String(r.path), stat: parseStat(r.stat) };
    case 'setData': return { op: 'setData', stat: parseStat(r.stat) };
    case 'delete': case 'check': return { op: sub.op };
  }
}

function multiBody(ops: AclSubOp[]): string {
  return JSON.stringify({
    ops: ops.map((o) => {
      switch (o.op) {
        case 'create': return { op: 'create', path: o.path, data: o.data, encoding: 'base64', mode: 'persistent', acl: JSON.parse(aclJson(o.acl)) as unknown };
        case 'setData': return { ...o, encoding: 'base64' };
        case 'delete': case 'check': return o;
      }
    }),
  });
}

export interface HttpAnswer { status: number; body: Json; headers: Headers }

/** One request to Corral; 5xx and non-JSON bodies throw (the callers turn them into PROTOCOL). */
export async function corralCall(
  baseUrl: string, method: string, urlPath: string, headers: Record<string, string>, body?: Uint8Array<ArrayBuffer> | string,
): Promise<HttpAnswer> {
  const res = await fetch(baseUrl + urlPath, { method, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.text();
  if (res.status >= 500) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  if (text === '') return { status: res.status, body: {}, headers: res.headers };
  try {
    return { status: res.status, body: JSON.parse(text) as Json, headers: res.headers };
  } catch {
    throw new Error(`HTTP ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
}

export interface CorralSessionRef { id: string; token: string }

export class CorralAclSide implements AclSide {
  readonly name = 'Corral';

  constructor(private readonly baseUrl: string) {}

  async run(op: AclOp, session?: CorralSessionRef, watch = false): Promise<AclOutcome> {
    try {
      return await this.runUnchecked(op, session, watch);
    } catch (err) {
      return { ok: false, code: 'PROTOCOL', detail: (err as Error).message };
    }
  }

  /** GET /v1/stat by the anonymous actor, or null on NONODE. Corral checks READ here (3.9), so NOAUTH throws. */
  async stat(path: string): Promise<Stat | null> {
    const out = await this.run({ actor: 'anon', op: 'exists', path });
    if (out.ok && out.stat !== undefined) return out.stat;
    if (!out.ok && out.code === 'NONODE') return null;
    throw new Error(`exists ${path} on Corral: ${JSON.stringify(out)}`);
  }

  async close(): Promise<void> { /* stateless */ }

  private async runUnchecked(op: AclOp, session: CorralSessionRef | undefined, watch: boolean): Promise<AclOutcome> {
    const headers: Record<string, string> = { ...authHeaders(op.actor) };
    if (session !== undefined) Object.assign(headers, { 'Zk-Session-Id': session.id, 'Zk-Session-Token': session.token });
    const call = (method: string, urlPath: string, body?: Uint8Array<ArrayBuffer> | string, extra: Record<string, string> = {}) =>
      corralCall(this.baseUrl, method, urlPath, { ...headers, ...extra }, body);
    const bytes = (d: string): Uint8Array<ArrayBuffer> => Uint8Array.from(Buffer.from(d, 'base64'));
    const octets = { 'content-type': 'application/octet-stream' };
    const w = (sep: string): string => (watch ? `${sep}watch=true` : '');
    const z = (prefix: string, path: string): string => znodeUrlPath(prefix, path);
    switch (op.op) {
      case 'create': {
        const { status, body } = await call('POST', `${z('/v1/znodes', op.path)}?mode=persistent`, bytes(op.data), { ...octets, 'Zk-Acl': aclJson(op.acl) });
        return status === 201 ? { ok: true, path: String(body.path), stat: parseStat(body.stat) } : errorOutcome(status, body);
      }
      case 'setData': {
        const { status, body } = await call('PUT', `${z('/v1/znodes', op.path)}?version=${op.version}`, bytes(op.data), octets);
        return status === 200 ? { ok: true, stat: parseStat(body.stat) } : errorOutcome(status, body);
      }
      case 'delete': {
        const { status, body } = await call('DELETE', `${z('/v1/znodes', op.path)}?version=${op.version}`);
        return status === 204 ? { ok: true } : errorOutcome(status, body);
      }
      case 'exists': {
        const { status, body } = await call('GET', z('/v1/stat', op.path) + w('?'));
        return status === 200 ? { ok: true, stat: parseStat(body.stat) } : errorOutcome(status, body);
      }
      case 'getData': {
        const { status, body } = await call('GET', `${z('/v1/znodes', op.path)}?encoding=base64${w('&')}`);
        return status === 200 ? { ok: true, data: dataOf(body), stat: parseStat(body.stat) } : errorOutcome(status, body);
      }
      case 'getChildren': {
        const { status, body } = await call('GET', z('/v1/children', op.path) + w('?'));
        if (status !== 200) return errorOutcome(status, body);
        if (!Array.isArray(body.children)) throw new Error('children is not an array');
        return { ok: true, children: (body.children as string[]).slice().sort(), stat: parseStat(body.stat) };
      }
      case 'getACL': {
        const { status, body } = await call('GET', z('/v1/acl', op.path));
        return status === 200 ? { ok: true, acl: parseAcl(body.acl), stat: parseStat(body.stat) } : errorOutcome(status, body);
      }
      case 'setACL': {
        const { status, body } = await call('PUT', `${z('/v1/acl', op.path)}?version=${op.version}`, aclJson(op.acl), { 'content-type': 'application/json' });
        return status === 200 ? { ok: true, stat: parseStat(body.stat) } : errorOutcome(status, body);
      }
      case 'multi': {
        const { status, body } = await call('POST', '/v1/multi', multiBody(op.ops), { 'content-type': 'application/json' });
        if (status !== 200) return errorOutcome(status, body);
        if (!Array.isArray(body.results) || body.results.length !== op.ops.length) {
          throw new Error(`multi results do not match the ${op.ops.length} ops`);
        }
        return { ok: true, results: (body.results as Json[]).map((r, i) => subResult(op.ops[i]!, r)) };
      }
    }
  }
}

export interface StreamEvent { type: string; path: string }

/** A Corral session opened with one actor's credentials, and its event stream. */
export class CorralWatchSession {
  readonly events: StreamEvent[] = [];
  private wake: () => void = () => undefined;
  private readonly abort = new AbortController();
  private pump: Promise<void> = Promise.resolve();

  private constructor(private readonly baseUrl: string, readonly actor: Actor, readonly ref: CorralSessionRef) {}

  static async open(baseUrl: string, actor: Actor): Promise<CorralWatchSession> {
    const res = await corralCall(baseUrl, 'POST', '/v1/sessions',
      { ...authHeaders(actor), 'content-type': 'application/json' }, JSON.stringify({ timeoutMs: 30_000 }));
    if (res.status !== 201 || typeof res.body.id !== 'string' || typeof res.body.token !== 'string') {
      throw new Error(`opening a session answered ${res.status} ${JSON.stringify(res.body)}`);
    }
    const session = new CorralWatchSession(baseUrl, actor, { id: res.body.id, token: res.body.token });
    const headersDue = setTimeout(() => session.abort.abort(), REQUEST_TIMEOUT_MS);
    const stream = await fetch(`${baseUrl}/v1/sessions/${session.ref.id}/events`, {
      headers: { 'Zk-Session-Token': session.ref.token, accept: 'text/event-stream' }, signal: session.abort.signal,
    }).finally(() => clearTimeout(headersDue));
    if (stream.status !== 200 || stream.body === null) throw new Error(`events stream answered ${stream.status}`);
    session.pump = session.read(stream.body);
    return session;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const e of readSse(body)) {
        if (e.event !== 'watch') continue;
        const data = JSON.parse(e.data) as Json;
        this.events.push({ type: String(data.type), path: String(data.path) });
        this.wake();
      }
    } catch {
      // aborted by close()
    }
  }

  /** Waits until `cond` holds on the events received (bounded); whether it does. */
  waitFor(cond: (events: readonly StreamEvent[]) => boolean, timeoutMs: number): Promise<boolean> {
    if (cond(this.events)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = () => undefined; resolve(cond(this.events)); }, timeoutMs);
      this.wake = () => {
        if (!cond(this.events)) return;
        clearTimeout(timer);
        this.wake = () => undefined;
        resolve(true);
      };
    });
  }

  async close(): Promise<void> {
    await corralCall(this.baseUrl, 'DELETE', `/v1/sessions/${this.ref.id}`,
      { ...authHeaders(this.actor), 'Zk-Session-Id': this.ref.id, 'Zk-Session-Token': this.ref.token }).catch(() => undefined);
    this.abort.abort();
    await this.pump;
  }
}

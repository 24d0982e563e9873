// The Corral side of the session oracle (the contract in /work/shared/API.md, Sessions): per slot a
// session opened with POST /v1/sessions, its event stream GET /v1/sessions/{id}/events read with
// readSse, and every op sent with Zk-Session-Id / Zk-Session-Token (reads with ?watch=true).
// - Quiescence: a request acting for a session answers `Zk-Last-Event-Id`, the newest event queued
//   on its stream; the slot is settled once its stream has delivered that id (bounded wait). The
//   request is a keepalive carrying `Zk-Min-Zxid` = the newest `Zk-Zxid` seen, so it is answered
//   after every change the run has made. A closed slot is settled once its stream has ended.
// - Contract checks on the stream (reported as problems, i.e. mismatches): ids strictly increase,
//   watch events parse as {type, path, zxid}, the stream of a closed session ends with
//   `event: session` {"state": "closed"} and nothing else arrives (no overflow, no other events).
import { readSse } from '../../src/client/sse.ts';
import { znodeUrlPath } from './corral-driver.ts';
import {
  ownerLabel, type EventType, type OwnedStat, type SessionOp, type SessionOutcome, type SessionSide, type WatchEvent,
} from './session-ops.ts';

const REQUEST_TIMEOUT_MS = 10_000;
const SETTLE_TIMEOUT_MS = 5_000;
const SESSION_TIMEOUT_MS = 30_000;
const WATCH_TYPES = new Set<string>(['NodeCreated', 'NodeDeleted', 'NodeDataChanged', 'NodeChildrenChanged']);

type Json = Record<string, unknown>;
interface EventId { zxid: bigint; k: number }

interface Slot {
  id: string;
  token: string;
  events: WatchEvent[];
  delivered: EventId | undefined;
  endState: string | undefined; // the `event: session` state
  ended: boolean;
  closed: boolean;
  closing: boolean; // a close was sent: its session event may come before the close's reply
  abort: AbortController;
  pump: Promise<void>;
  wake: () => void;
}

function parseId(raw: string | undefined | null): EventId | undefined {
  const m = /^(\d+)-(\d+)$/.exec(raw ?? '');
  return m === null ? undefined : { zxid: BigInt(m[1]!), k: Number(m[2]) };
}

const reached = (have: EventId | undefined, want: EventId): boolean =>
  have !== undefined && (have.zxid > want.zxid || (have.zxid === want.zxid && have.k >= want.k));

function ownedStat(raw: unknown, ids: readonly (string | undefined)[]): OwnedStat {
  const s = raw as Json;
  const int = (k: string): number => {
    if (typeof s[k] !== 'number' || !Number.isInteger(s[k])) throw new Error(`stat.${k} is not an integer`);
    return s[k] as number;
  };
  if (typeof s.ephemeralOwner !== 'string') throw new Error('stat.ephemeralOwner is not a string');
  return {
    version: int('version'), cversion: int('cversion'), aversion: int('aversion'), dataLength: int('dataLength'),
    numChildren: int('numChildren'), owner: ownerLabel(s.ephemeralOwner, ids),
  };
}

function dataOf(body: Json): string {
  if (typeof body.data !== 'string' || body.encoding !== 'base64') throw new Error('data is not base64');
  return body.data;
}

export class CorralSessionSide implements SessionSide {
  readonly name = 'Corral';
  private readonly slots: (Slot | undefined)[] = [];
  private readonly problems: string[] = [];
  private maxZxid = 0n;

  constructor(private readonly baseUrl: string) {}

  async run(op: SessionOp): Promise<SessionOutcome> {
    try {
      return await this.runUnchecked(op);
    } catch (err) {
      return { ok: false, code: 'PROTOCOL', detail: (err as Error).message };
    }
  }

  async settle(): Promise<string | null> {
    const problems = await Promise.all(this.slots.map((slot, s) => (slot === undefined ? null : this.settleSlot(s, slot))));
    return problems.find((p) => p !== null) ?? null;
  }

  private async settleSlot(s: number, slot: Slot): Promise<string | null> {
    if (slot.closed) {
      if (!(await this.waitFor(slot, () => slot.ended))) return `Corral s${s}: the stream of the closed session did not end within ${SETTLE_TIMEOUT_MS} ms`;
      if (slot.endState !== 'closed') return `Corral s${s}: the closed session's stream ended with state ${String(slot.endState)}, not "closed"`;
      return null;
    }
    const res = await this.fetch('POST', `/v1/sessions/${slot.id}/keepalive`, slot, { 'Zk-Min-Zxid': String(this.maxZxid) });
    if (res.status !== 200) return `Corral s${s}: keepalive answered ${res.status} ${JSON.stringify(res.body)}`;
    if (res.lastEventId === null && slot.delivered !== undefined) {
      return `Corral s${s}: keepalive has no Zk-Last-Event-Id though the stream delivered ${slot.delivered.zxid}-${slot.delivered.k}`;
    }
    const want = parseId(res.lastEventId);
    if (res.lastEventId !== null && want === undefined) return `Corral s${s}: malformed Zk-Last-Event-Id ${res.lastEventId}`;
    if (want !== undefined && !(await this.waitFor(slot, () => reached(slot.delivered, want)))) {
      return `Corral s${s}: the stream did not deliver event ${res.lastEventId} within ${SETTLE_TIMEOUT_MS} ms ` +
        `(delivered up to ${slot.delivered === undefined ? 'nothing' : `${slot.delivered.zxid}-${slot.delivered.k}`}${slot.ended ? ', stream ended' : ''})`;
    }
    return null;
  }

  takeEvents(s: number): WatchEvent[] {
    return this.slots[s]?.events.splice(0) ?? [];
  }

  takeProblems(): string[] {
    return this.problems.splice(0);
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.slots.map(async (slot) => {
      if (slot === undefined) return;
      if (!slot.closed) {
        slot.closed = slot.closing = true;
        await this.fetch('DELETE', `/v1/sessions/${slot.id}`, slot).catch(() => undefined);
      }
      slot.abort.abort();
      await slot.pump;
    }));
  }

  private async runUnchecked(op: SessionOp): Promise<SessionOutcome> {
    if (op.op === 'open') return this.open(op.s);
    const slot = this.slots[op.s];
    if (slot === undefined) throw new Error(`slot s${op.s} was never opened`);
    const z = (prefix: string, path: string, query: string): string => znodeUrlPath(prefix, path) + query;
    const bytes = (d: string): Uint8Array<ArrayBuffer> => Uint8Array.from(Buffer.from(d, 'base64'));
    const ids = this.slots.map((x) => x?.id);
    const watch = (w: boolean, first: string): string => (w ? `${first}watch=true` : '');
    const answer = (res: { status: number; body: Json }, okStatus: number, ok: (b: Json) => SessionOutcome): SessionOutcome => {
      if (res.status === okStatus) return ok(res.body);
      if (typeof res.body.code !== 'string') return { ok: false, code: 'PROTOCOL', detail: `HTTP ${res.status} without code` };
      return { ok: false, code: res.body.code };
    };
    switch (op.op) {
      case 'close': {
        slot.closing = true;
        const res = await this.fetch('DELETE', `/v1/sessions/${slot.id}`, slot);
        slot.closing = res.status === 204;
        slot.closed = slot.closing;
        return answer(res, 204, () => ({ ok: true }));
      }
      case 'create':
        return answer(await this.fetch('POST', z('/v1/znodes', op.path, `?mode=${op.mode}`), slot, {}, bytes(op.data)), 201,
          (b) => ({ ok: true, path: String(b.path) }));
      case 'setData':
        return answer(await this.fetch('PUT', z('/v1/znodes', op.path, `?version=${op.version}`), slot, {}, bytes(op.data)), 200,
          (b) => ({ ok: true, stat: ownedStat(b.stat, ids) }));
      case 'delete':
        return answer(await this.fetch('DELETE', z('/v1/znodes', op.path, `?version=${op.version}`), slot), 204, () => ({ ok: true }));
      case 'exists':
        return answer(await this.fetch('GET', z('/v1/stat', op.path, watch(op.watch, '?')), slot), 200,
          (b) => ({ ok: true, stat: ownedStat(b.stat, ids) }));
      case 'getData':
        return answer(await this.fetch('GET', z('/v1/znodes', op.path, `?encoding=base64${watch(op.watch, '&')}`), slot), 200,
          (b) => ({ ok: true, data: dataOf(b), stat: ownedStat(b.stat, ids) }));
      case 'getChildren':
        return answer(await this.fetch('GET', z('/v1/children', op.path, watch(op.watch, '?')), slot), 200, (b) => {
          if (!Array.isArray(b.children)) throw new Error('children is not an array');
          // As answered: the contract sorts them (ZooKeeper's side is sorted by its driver).
          return { ok: true, children: b.children as string[], stat: ownedStat(b.stat, ids) };
        });
    }
  }

  private async open(s: number): Promise<SessionOutcome> {
    if (this.slots[s] !== undefined) throw new Error(`slot s${s} opened twice`);
    const res = await this.fetch('POST', '/v1/sessions', undefined, { 'content-type': 'application/json' },
      JSON.stringify({ timeoutMs: SESSION_TIMEOUT_MS }));
    if (res.status !== 201) return { ok: false, code: String(res.body.code ?? `HTTP ${res.status}`) };
    if (typeof res.body.id !== 'string' || typeof res.body.token !== 'string') throw new Error('open: no id or token');
    const abort = new AbortController();
    const slot: Slot = {
      id: res.body.id, token: res.body.token, events: [], delivered: undefined, endState: undefined, ended: false,
      closed: false, closing: false, abort, pump: Promise.resolve(), wake: () => undefined,
    };
    this.slots[s] = slot;
    const headersDue = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS); // bounds the wait for the stream's headers
    const stream = await fetch(`${this.baseUrl}/v1/sessions/${slot.id}/events`, {
      headers: { 'Zk-Session-Token': slot.token, accept: 'text/event-stream' }, signal: abort.signal,
    }).finally(() => clearTimeout(headersDue));
    if (stream.status !== 200 || stream.body === null) {
      slot.ended = true;
      throw new Error(`events stream answered ${stream.status}`);
    }
    slot.pump = this.pump(s, slot, stream.body);
    return { ok: true };
  }

  private async pump(s: number, slot: Slot, body: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const e of readSse(body)) {
        const id = parseId(e.id);
        if (id === undefined) this.problems.push(`Corral s${s}: event without a <zxid>-<k> id: ${JSON.stringify(e)}`);
        else if (slot.delivered !== undefined && reached(slot.delivered, id)) this.problems.push(`Corral s${s}: event id ${e.id} does not increase`);
        if (slot.endState !== undefined) this.problems.push(`Corral s${s}: ${e.event} event after the session event: ${e.data}`);
        this.receive(s, slot, e.event, e.data);
        if (id !== undefined) slot.delivered = id;
        slot.wake();
      }
    } catch (err) {
      if (!slot.abort.signal.aborted) this.problems.push(`Corral s${s}: stream failed: ${(err as Error).message}`);
    } finally {
      slot.ended = true;
      if (!slot.closing && !slot.abort.signal.aborted) this.problems.push(`Corral s${s}: the stream of an open session ended`);
      slot.wake();
    }
  }

  private receive(s: number, slot: Slot, event: string, data: string): void {
    let body: Json;
    try {
      body = JSON.parse(data) as Json;
    } catch {
      this.problems.push(`Corral s${s}: ${event} event with non-JSON data ${data}`);
      return;
    }
    if (event === 'session') {
      slot.endState = String(body.state);
      if (!slot.closing) this.problems.push(`Corral s${s}: session event ${data} for a session this run did not close`);
    } else if (event === 'watch' && WATCH_TYPES.has(String(body.type)) && typeof body.path === 'string' && typeof body.zxid === 'string') {
      slot.events.push({ type: body.type as EventType, path: body.path });
    } else {
      this.problems.push(`Corral s${s}: unexpected event ${event}: ${data}`);
    }
  }

  /** Waits until `cond` holds, woken by the slot's stream; false after SETTLE_TIMEOUT_MS. */
  private waitFor(slot: Slot, cond: () => boolean): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { slot.wake = () => undefined; resolve(cond()); }, SETTLE_TIMEOUT_MS);
      slot.wake = () => {
        if (!cond() && !slot.ended) return;
        clearTimeout(timer);
        slot.wake = () => undefined;
        resolve(cond());
      };
    });
  }

  private async fetch(method: string, urlPath: string, slot: Slot | undefined, headers: Record<string, string> = {},
    body?: Uint8Array<ArrayBuffer> | string): Promise<{ status: number; body: Json; lastEventId: string | null }> {
    const all: Record<string, string> = { ...headers };
    if (slot !== undefined) Object.assign(all, { 'Zk-Session-Id': slot.id, 'Zk-Session-Token': slot.token });
    if (body instanceof Uint8Array) all['content-type'] = 'application/octet-stream';
    const res = await fetch(this.baseUrl + urlPath, { method, headers: all, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const zxid = res.headers.get('zk-zxid');
    if (zxid !== null && /^\d+$/.test(zxid) && BigInt(zxid) > this.maxZxid) this.maxZxid = BigInt(zxid);
    const text = await res.text();
    if (res.status >= 500) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
    let json: Json = {};
    if (text !== '') {
      try { json = JSON.parse(text) as Json; } catch { throw new Error(`HTTP ${res.status} with a non-JSON body: ${text.slice(0, 200)}`); }
    }
    return { status: res.status, body: json, lastEventId: res.headers.get('zk-last-event-id') };
  }
}

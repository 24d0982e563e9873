/**
 * Corral sessions as ZooKeeper sessions: each is one ZooKeeper session held by this gateway over
 * its own connection (its ephemerals and watches are the ensemble's own). Its token is sealed
 * (session-token.ts): any gateway with the key re-attaches to the same ZooKeeper session from it.
 *
 * Liveness: ZooKeeper keeps a session alive while a connection pings for it, so the gateway must
 * not ping for a client that went away. A session not heard from (a request, its open stream)
 * for half its timeout is detached here: the connection closes without closeSession, and the
 * ensemble expires it after its timeout unless some gateway re-attaches first.
 *
 * Watches live on a ZooKeeper connection, not in the session: so each session keeps its
 * WatchRecord in the ensemble (watch-record.ts, record-store.ts), written before a watch's read
 * answers and before its events are queued, and a gateway that re-attaches (another one, or this
 * one after a detach) takes the watches and the stream over from it (session-takeover.ts).
 */
import { zkError, type ZkError } from '../../core/errors.ts';
import { OldestFirst } from '../../core/oldest-first.ts';
import type { WatchResult } from '../../core/tree/results.ts';
import type { WatchRequest } from '../../core/tree/txn.ts';
import { throttled } from '../../http/limits/refusal.ts';
import { Outbox } from '../../node/outbox.ts';
import { ZooKeeperClient } from '../../zookeeper-client/client.ts';
import { transportOf, type ServerAddress } from '../../zookeeper-client/session.ts';
import type { Caller, OpenedSession, SessionEvents, Sessions, SessionSummary } from '../backend.ts';
import { corralSessionId, zxidNumber } from './convert.ts';
import { EventDater } from './event-dating.ts';
import { isTreeEvent } from './gateway-changes.ts';
import { isGatewayOwnOrRoot, refusedOwn, withoutOwn } from './gateway-own-paths.ts';
import { openToken, samePassword, sealToken, type TokenPayload, type ZkAuth } from './session-token.ts';
import { zkAuthOf } from './caller-connections.ts';
import { DeferredEvents } from './deferred-events.ts';
import { recordAclOf, RecordWriter } from './record-store.ts';
import { onServer, withDerivedEvents } from './watch-modes.ts';
import { setWatch } from './watched-read.ts';
import { takeOver } from './session-takeover.ts';
import { WatchRecord } from './watch-record.ts';
import type { ZkEventType } from '../../zookeeper-client/records.ts';
import type { WatchKind } from '../../zookeeper-client/watch-registry.ts';
import type { ZkTlsOptions } from '../../zookeeper-client/connection.ts';

export interface GatewaySessionsOptions {
  readonly servers: readonly ServerAddress[];
  readonly chroot: string;
  readonly key: Buffer;
  readonly maxSessions: number;
  readonly outboxEventsMax: number;
  readonly maxWatchesPerSession: number;
  readonly nowMs: () => number;
  /** Every zxid a session's connection sees raises the gateway's own (Zk-Zxid). */
  readonly sawZxid: (zxid: number) => void;
  /** What a session's connection authenticates with when its opener had no digest identity (the gateway's ZooKeeper identity). */
  readonly auth: readonly { readonly scheme: string; readonly credential: Uint8Array }[];
  /** TLS to the ensemble; plain TCP when absent. */
  readonly tls?: ZkTlsOptions;
  /** The ensemble's jute.maxbuffer, for the connections' request bound (ZooKeeper's default when absent). */
  readonly maxRequestBytes?: number;
  /** A session's watch record could not be written (a takeover meanwhile may say `overflow`). */
  readonly recordFailed?: (error: ZkError, sessionId: number) => void;
  /**
   * The ensemble's zxid now (a read answered after the call; the newest zxid the gateway saw when
   * none can be read): dates the end of a session that expired while no connection of it was here.
   */
  readonly zxidNow?: () => Promise<number>;
}

interface GatewaySession {
  id: number;
  payload: TokenPayload;
  readonly outbox: Outbox;
  ready: Promise<ZooKeeperClient | ZkError>;
  client: ZooKeeperClient | undefined;
  timeoutMs: number;
  lastHeardMs: number;
  ended: 'closed' | 'expired' | undefined;
  /** Ephemerals created through this gateway (ZooKeeper's getEphemerals is asynchronous; see ephemerals()). */
  readonly ephemerals: Set<string>;
  /** What the stream reads: the outbox, once a takeover has queued the recorded events. */
  readonly events: DeferredEvents;
  record: WatchRecord;
  readonly writer: RecordWriter;
  /** Watches asked and not yet answered (`<kind> <path>`), counted against maxWatchesPerSession. */
  readonly pendingWatches: Set<string>;
  /** Dates the connection's notifications; `queued` settles once what it handed on is on the stream. */
  dater: EventDater | undefined;
  queued: Promise<void>;
  /** closeSession sent: the record goes with the session, a failed write of it is no news. */
  closing: boolean;
  /** The close's zxid once answered: what the close's own notifications are dated with. */
  closed: Promise<bigint> | undefined;
}

/** Events a session's record keeps for a takeover (a client further behind is told `overflow`). */
const RECORD_EVENTS_MAX = 256;

/** Ended sessions kept so their streams can still read the end. */
const ENDED_KEPT_MAX = 1024;

export class GatewaySessions implements Sessions {
  private readonly live = new Map<number, GatewaySession>();
  private readonly ended = new Map<number, GatewaySession>();
  private readonly oldestEnded = new OldestFirst(this.ended);
  /** Sessions this gateway let go of (idle, or taken over elsewhere): their outboxes, for a return. */
  private readonly away = new Map<number, GatewaySession>();
  private readonly oldestAway = new OldestFirst(this.away);
  private readonly sweeper: NodeJS.Timeout;
  private opening = 0;

  constructor(private readonly options: GatewaySessionsOptions) {
    this.sweeper = setInterval(() => this.sweep(), 250);
    this.sweeper.unref();
  }

  async open(requestedTimeoutMs: number, caller: Caller): Promise<OpenedSession | ZkError> {
    // Opens still connecting count too: a burst of opens cannot all pass the check.
    if (this.live.size + this.opening >= this.options.maxSessions) return throttled('sessions', `at most ${this.options.maxSessions} sessions`);
    // The address is listed, not checked: a session may continue from another address.
    const identities = caller.auth.filter((i) => !i.startsWith('ip:'));
    const from = caller.auth.filter((i) => i.startsWith('ip:'));
    const own = zkAuthOf(caller);
    this.opening++;
    const entry = this.attach(undefined, requestedTimeoutMs, identities, own ? [own] : [], from);
    const client = await entry.ready.finally(() => this.opening--);
    if ('code' in client) return client;
    return { id: entry.id, timeoutMs: entry.timeoutMs, token: sealToken(this.options.key, entry.payload) };
  }

  /** Connects a new session (payload undefined) or re-attaches to the one the payload names. */
  private attach(payload: TokenPayload | undefined, timeoutMs: number, identities: readonly string[], openerAuth: readonly ZkAuth[] = [], from: readonly string[] = []): GatewaySession {
    // The opener's credential when it had one (the ensemble checks it), else the gateway's own.
    const openerOwn = payload ? payload.auth : openerAuth;
    const auth = openerOwn.length > 0 ? openerOwn : this.options.auth;
    const id = payload ? corralSessionId(payload.sessionId) : 0;
    // Back on a gateway that held it before: its open stream (if any) reads the same outbox.
    const earlier = this.away.get(id);
    this.away.delete(id);
    const outbox = earlier?.outbox ?? new Outbox(this.options.outboxEventsMax);
    const entry: GatewaySession = {
      id, payload: payload ?? { sessionId: 0n, password: new Uint8Array(0), identities, timeoutMs, auth: openerOwn, from },
      outbox, ready: Promise.resolve(zkError('CONNECTIONLOSS', 'connecting')),
      client: undefined, timeoutMs, lastHeardMs: this.options.nowMs(), ended: undefined, ephemerals: new Set(),
      events: new DeferredEvents(outbox), record: earlier?.record ?? new WatchRecord(RECORD_EVENTS_MAX),
      writer: new RecordWriter(() => entry.client, () => entry.payload.sessionId, () => entry.record, recordAclOf(auth),
        (error) => { if (!entry.closing) this.options.recordFailed?.(error, entry.id); }),
      pendingWatches: new Set(), dater: undefined, queued: Promise.resolve(), closing: false, closed: undefined,
    };
    const dater = new EventDater(
      // A closing session's connection answers no probe after the close: its notifications (sent before the close's reply) are of the close.
      () => entry.closed?.then((zxid) => ({ zxid, seq: Number.MAX_SAFE_INTEGER }))
        ?? entry.client?.probe() ?? Promise.resolve(zkError('CONNECTIONLOSS', 'not connected')),
      (group) => {
        this.options.sawZxid(group.zxid);
        const notified = withoutOwn(group.events.filter((e) => isTreeEvent(e.type)));
        const events = withDerivedEvents(entry.record, notified, (path) => ({ type: 'NodeChildrenChanged' as const, path, state: notified[0]?.state ?? 3 }));
        const queued = this.queueEvents(entry, events, group.zxid);
        entry.queued = Promise.all([entry.queued, queued]).then(() => undefined);
      },
      () => zxidNumber(entry.client?.session.lastZxid ?? 0n),
    );
    entry.dater = dater;
    let lostAtMs = 0;
    entry.ready = ZooKeeperClient.connect({
      servers: this.options.servers, chroot: this.options.chroot, sessionTimeoutMs: timeoutMs, auth,
      ...transportOf(this.options),
      ...(payload ? { sessionId: payload.sessionId, password: payload.password } : {}),
      // Reconnect only for a client still heard from here since the loss: a session that
      // re-attached through another gateway had this connection closed by ZooKeeper, and taking
      // it back would close that gateway's (each would take it from the other in turn).
      shouldReconnect: () => entry.lastHeardMs > lostAtMs,
    }, {
      watch: (event, zxid, seq) => dater.add(event, zxid, seq),
      state: (state) => {
        if (state === 'disconnected') lostAtMs = this.options.nowMs();
        // (Refused at a re-attach, before any connection: the connect's answer below dates the end.)
        if (state === 'expired' && entry.client) this.end(entry, 'expired');
        if (state === 'closed' && !entry.ended) this.detached(entry);
      },
    }).then(async (client) => {
      if ('code' in client) {
        // The session ended while no connection of it was here (the ensemble expired it): its end
        // is dated with a read answered after ZooKeeper refused it, so at or after the expiry, and
        // after every event its stream already has (a client resuming with Last-Event-ID reads it).
        if (payload) this.end(entry, 'expired', await this.options.zxidNow?.().catch(() => 0) ?? 0);
        entry.events.open();
        return client;
      }
      entry.client = client;
      entry.timeoutMs = client.session.timeoutMs;
      const attachedAt = zxidNumber(client.session.lastZxid);
      this.options.sawZxid(attachedAt);
      if (payload) {
        // Requests for the session wait for this too: a watch set now joins the record taken over.
        await takeOver(client, payload.sessionId, entry.outbox, attachedAt, entry.record, (record) => (entry.record = record));
      } else {
        entry.id = corralSessionId(client.session.sessionId);
        entry.payload = { sessionId: client.session.sessionId, password: client.session.password, identities, timeoutMs: client.session.timeoutMs, auth: openerOwn, from };
        this.live.set(entry.id, entry);
      }
      entry.events.open();
      return client;
    });
    if (payload) this.live.set(entry.id, entry);
    return entry;
  }

  /**
   * Events dated at `zxid`: recorded in the ensemble first, then queued on the stream, so a
   * takeover's record is never behind what the client saw (watch-record.ts).
   */
  private async queueEvents(entry: GatewaySession, events: readonly { readonly type: ZkEventType; readonly path: string }[], zxid: number): Promise<void> {
    if (events.length === 0) return;
    entry.record.fired(events, zxid);
    await entry.writer.save();
    for (const e of events) entry.outbox.push(zxid, 'watch', { type: e.type, path: e.path, zxid: String(zxid) });
  }

  /** The session's client once attached (or why not), for a request acting for it. */
  async clientOf(id: number): Promise<ZooKeeperClient | ZkError> {
    const entry = this.live.get(id);
    if (!entry) return this.ended.has(id) ? zkError('SESSIONEXPIRED', `session ${id} has ended`) : zkError('UNKNOWNSESSION', `session ${id} is not known here; send its token`);
    entry.lastHeardMs = this.options.nowMs();
    return entry.ready;
  }

  /** A write created an ephemeral for the session through this gateway. */
  createdEphemeral(id: number, path: string): void {
    this.live.get(id)?.ephemerals.add(path);
  }

  deletedPath(path: string): void {
    for (const entry of this.live.values()) entry.ephemerals.delete(path);
  }

  async close(id: number): Promise<ZkError | undefined> {
    const client = await this.clientOf(id);
    if ('code' in client) return client;
    const entry = this.live.get(id);
    if (entry) entry.closing = true;
    const closing = client.close();
    if (entry) entry.closed = closing.then(() => client.session.lastZxid);
    await closing;
    // The answer's Zk-Zxid covers the close: a later Zk-Min-Zxid brings other sessions' connections past it.
    this.options.sawZxid(zxidNumber(client.session.lastZxid));
    if (entry) {
      // ZooKeeper notifies the close's own changes (to this session too) before its reply: they come before `closed`.
      await this.flushed(entry);
      this.end(entry, 'closed');
    }
    return undefined;
  }

  /**
   * Before a request for the session is answered: its connection reaches `minZxid` (a sync and a
   * probe when it is behind; ZooKeeper sends notifications before any later reply on their
   * connection), and every notification it has received is dated, recorded and on the stream.
   */
  async settle(id: number, minZxid: number): Promise<void> {
    const entry = this.live.get(id);
    const client = entry?.client;
    if (!entry || !client) return;
    if (minZxid > zxidNumber(client.session.lastZxid)) {
      const synced = await client.sync('/');
      if (!('code' in synced)) await client.probe();
    }
    await this.flushed(entry);
  }

  private async flushed(entry: GatewaySession): Promise<void> {
    await entry.dater?.idle();
    await entry.queued;
  }

  async keepalive(id: number): Promise<ZkError | undefined> {
    const client = await this.clientOf(id);
    return 'code' in client ? client : undefined;
  }

  authenticate(id: number, token: string | undefined, readEnd = false, caller?: Caller): ZkError | undefined {
    const known = this.live.get(id) ?? (readEnd ? this.ended.get(id) : undefined);
    const payload = token === undefined ? undefined : openToken(this.options.key, token);
    if (known === undefined) {
      if (this.ended.has(id)) return zkError('SESSIONEXPIRED', `session ${id} has ${this.ended.get(id)!.ended}`);
      if (payload === undefined) return zkError('UNKNOWNSESSION', `session ${id} is not known`);
      if (corralSessionId(payload.sessionId) !== id) return zkError('AUTHFAILED', `wrong token for session ${id}`);
      const denied = this.identitiesDenied(id, payload, caller);
      if (denied) return denied;
      // Opened through another gateway (or detached here): re-attach to the same ZooKeeper session.
      this.attach(payload, payload.timeoutMs, payload.identities);
      return undefined;
    }
    if (payload === undefined || !samePassword(payload, known.payload)) return zkError('AUTHFAILED', `wrong or missing token for session ${id}`);
    return this.identitiesDenied(id, known.payload, caller);
  }

  private identitiesDenied(id: number, payload: TokenPayload, caller: Caller | undefined): ZkError | undefined {
    if (caller === undefined) return undefined;
    for (const identity of payload.identities) {
      if (!caller.identities.includes(identity)) {
        return zkError('NOAUTH', `session ${id} was opened with identities this request does not carry; send the same credentials`);
      }
    }
    return undefined;
  }

  touch(id: number): void {
    const entry = this.live.get(id);
    if (entry) entry.lastHeardMs = this.options.nowMs();
  }

  timeoutOf(id: number): number {
    return (this.live.get(id) ?? this.ended.get(id))?.timeoutMs ?? 0;
  }

  ephemerals(id: number): readonly string[] {
    return [...(this.live.get(id)?.ephemerals ?? [])].sort();
  }

  /** The sessions this gateway holds (not the ensemble's: ZooKeeper lists those only to its operators). */
  list(): readonly SessionSummary[] {
    return [...this.live.values()].map((e) => ({ id: e.id, timeoutMs: e.timeoutMs, identities: [...e.payload.identities, ...(e.payload.from ?? [])] })).sort((a, b) => a.id - b.id);
  }

  async watch(id: number, request: WatchRequest): Promise<WatchResult | ZkError> {
    if (isGatewayOwnOrRoot(request.path)) return { ok: false, watch: true, error: refusedOwn(request.path) };
    const client = await this.clientOf(id);
    if ('code' in client) return client;
    if (request.op === 'removeWatches') {
      const removed = await this.removeWatches(id, client, request);
      return 'code' in removed ? { ok: false, watch: true, error: removed } : removed;
    }
    const entry = this.live.get(id);
    // The limit is checked and the watch reserved in one synchronous step, as the embedded store does.
    const kind: WatchKind = request.op === 'addWatch' ? (request.mode === 'persistent' ? 'persistent' : 'persistentRecursive') : request.op === 'getChildren' ? 'child' : 'data';
    const key = `${kind} ${request.path}`;
    const max = this.options.maxWatchesPerSession;
    if (entry && !entry.record.holds(key) && !entry.pendingWatches.has(key) && entry.record.watchCount + entry.pendingWatches.size >= max) {
      return { ok: false, watch: true, error: throttled('watches_per_session', `a session holds at most ${max} watches`) };
    }
    entry?.pendingWatches.add(key);
    try {
      const answer = await this.watchOn(id, client, request);
      return 'code' in answer ? { ok: false, watch: true, error: answer } : answer;
    } finally {
      entry?.pendingWatches.delete(key);
    }
  }

  /**
   * removeWatches, announced on the session's stream as the embedded store does (ZooKeeper's
   * server sends no notification for it; its Java client makes these events itself).
   */
  private async removeWatches(id: number, client: ZooKeeperClient, request: WatchRequest & { op: 'removeWatches' }): Promise<WatchResult | ZkError> {
    const server = this.options.chroot === '' ? request.path : request.path === '/' ? this.options.chroot : this.options.chroot + request.path;
    const held = client.session.watches;
    const hadData = ['data', 'exist', 'persistent', 'persistentRecursive'].some((kind) => held.has(kind as 'data', server));
    const hadChild = held.has('child', server);
    const r = await client.removeWatches(request.path, request.watchType);
    if ('code' in r) return r;
    const zxid = zxidNumber(r.zxid);
    const entry = this.live.get(id);
    if (!entry) return { ok: true, watch: true };
    entry.record.removed(request.path, request.watchType);
    const events: Array<{ type: ZkEventType; path: string }> = [];
    if (request.watchType !== 'children' && hadData) events.push({ type: 'DataWatchRemoved', path: request.path });
    if (request.watchType !== 'data' && hadChild) events.push({ type: 'ChildWatchRemoved', path: request.path });
    if (events.length > 0) await this.queueEvents(entry, events, zxid);
    else await entry.writer.save();
    return { ok: true, watch: true };
  }

  /** Sets the watch, then records it (before answering: see watch-record.ts) as of the read's zxid. */
  private watchOn(id: number, client: ZooKeeperClient, request: WatchRequest & { op: Exclude<WatchRequest['op'], 'removeWatches'> }): Promise<WatchResult | ZkError> {
    const held = this.live.get(id)?.record;
    return setWatch(client, request, async (kind, zxid) => {
      const entry = this.live.get(id);
      if (!entry) return;
      entry.record.added(kind, request.path, zxidNumber(zxid));
      await entry.writer.save();
    }, held ? onServer(held, request) : undefined);
  }

  /** Whether the session's connection authenticates as its opener (a digest credential), not as the gateway. */
  hasOwnAuth(id: number): boolean {
    return (this.live.get(id)?.payload.auth.length ?? 0) > 0;
  }

  /** The watches a live session holds as its record counts them (what maxWatchesPerSession limits); 0 once it ended. */
  watchCount(id: number): number {
    return this.live.get(id)?.record.watchCount ?? 0;
  }

  events(id: number): SessionEvents | undefined {
    return (this.live.get(id) ?? this.ended.get(id) ?? this.away.get(id))?.events;
  }

  /** Detaches the sessions nobody heard from for half their timeout (see the file's comment). */
  private sweep(): void {
    const now = this.options.nowMs();
    for (const entry of [...this.live.values()]) {
      if (entry.client === undefined || now - entry.lastHeardMs < entry.timeoutMs / 2) continue;
      entry.client.session.detach();
    }
  }

  /** The session's connection is gone from here without the session ending: keep its outbox for a return. */
  private detached(entry: GatewaySession): void {
    if (this.live.get(entry.id) === entry) this.live.delete(entry.id);
    this.away.set(entry.id, entry);
    if (this.away.size > ENDED_KEPT_MAX) this.oldestAway.take();
  }

  /** The session ended: `{state}` queued last, at `atLeast`, its connection's last zxid or its newest event's zxid, whichever is latest. */
  private end(entry: GatewaySession, reason: 'closed' | 'expired', atLeast = 0): void {
    if (entry.ended) return;
    entry.ended = reason;
    this.live.delete(entry.id);
    const newest = Number(entry.outbox.lastId?.split('-')[0] ?? 0);
    const zxid = Math.max(atLeast, newest, zxidNumber(entry.client?.session.lastZxid ?? 0n));
    entry.outbox.push(zxid, 'session', { state: reason, zxid: String(zxid) });
    entry.outbox.ended = true;
    entry.events.open();
    this.ended.set(entry.id, entry);
    if (this.ended.size > ENDED_KEPT_MAX) this.oldestEnded.take();
  }

  async shutdown(): Promise<void> {
    clearInterval(this.sweeper);
    // Detach, not close: the sessions outlive this gateway and continue through another.
    for (const entry of this.live.values()) entry.client?.session.detach();
    this.live.clear();
  }
}

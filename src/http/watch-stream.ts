/**
 * GET /v1/watch/{path}?recursive= : a session-less persistent (recursive) watch that lives as
 * long as the stream. It subscribes to live changes first, then replays the change history after
 * the client's resume point, then follows the live changes, skipping what the replay already
 * sent: nothing lost, nothing twice. Ids are `<zxid>-<k>`, k counting this stream's events of
 * that zxid. A resume point older than the retained history gets `event: reset` first.
 *
 * A caller hears only of nodes it may READ: each event is sent only if the caller's identities
 * have READ in the ACL of the node it is about, as it was at the change (ZooKeeper 3.9.2's rule for
 * every watch, CVE-2024-23944); opening the stream needs no permission, as addWatch needs none.
 *
 * Live events come from the ChangeFeed after the apply loop, once the write's answer went out, in
 * slices of streams with the event loop free between them (src/node/change-feed.ts); a
 * transaction's frames are built once for all the streams of the same path and kind, framed
 * once as an HTTP chunk, and written straight to each socket (src/http/sse-sink.ts).
 */
import { decimal } from '../core/decimal.ts';
import type { Context } from 'hono';
import { OPEN_ACL, PERM, type Acl } from '../core/acl/acl.ts';
import { permits } from '../core/acl/check.ts';
import { isWithin } from '../core/tree/path.ts';
import type { EventType } from '../core/tree/results.ts';
import type { ChangeSubscriber } from '../backend/backend.ts';
import { parseEventId } from '../node/outbox.ts';
import type { AppDeps } from './app-deps.ts';
import { callerOfContext } from './caller.ts';
import { badRequest } from './errors.ts';
import { limitKeyOf } from './limits/caller-key.ts';
import type { Release } from './limits/keyed-slots.ts';
import { onResponseClosed, takeStreamSlot } from './limits/stream-slots.ts';
import { SharedFrame, sseFrame, sseResponse, type SseChunk, type SseSink } from './sse-sink.ts';
import { parseBoolean, parseZxid } from './values.ts';

const REPLAY_PAGE = 1000;
const HEARTBEAT_MS = 10_000;
/** How often the streams are checked for a heartbeat due: one timer for all, not one per stream. */
const HEARTBEAT_SWEEP_MS = 1000;
/** Position.k meaning every event of that zxid was sent. */
const ALL = Number.MAX_SAFE_INTEGER;

interface Change {
  readonly zxid: number;
  readonly type: EventType;
  readonly path: string;
  readonly acl?: Acl | undefined;
}

/** The node skipped history (it installed the leader's checkpoint): events through it are unknown. */
interface Gap {
  readonly gapThrough: number;
}

type Queued = readonly Change[] | Gap;

interface Position {
  readonly zxid: number;
  /** Index of the last event sent at `zxid`; -1 when resuming after the whole zxid. */
  readonly k: number;
}

function matcher(path: string, recursive: boolean): (e: Change) => boolean {
  // Persistent-recursive watches get no NodeChildrenChanged, as in ZooKeeper.
  if (recursive) return (e) => e.type !== 'NodeChildrenChanged' && isWithin(e.path, path);
  return (e) => e.path === path;
}

function resumePoint(c: Context): Position | undefined {
  const lastEventId = c.req.header('last-event-id');
  if (lastEventId) {
    const id = parseEventId(lastEventId);
    if (!id) throw badRequest(`Last-Event-ID must be <zxid>-<k>, got "${lastEventId}"`);
    return { zxid: id.zxid, k: id.k };
  }
  const from = c.req.query('fromZxid');
  return from === undefined ? undefined : { zxid: parseZxid(from, 'fromZxid'), k: ALL };
}

function eventFrame(e: Change, k: number): string {
  const zxid = decimal(e.zxid);
  return sseFrame('watch', JSON.stringify({ type: e.type, path: e.path, zxid }), `${zxid}-${k}`);
}

/** The position after the whole of `zxid`: one object for every stream the fan-out moves there. */
let lastWhole: Position = { zxid: 0, k: ALL };
function wholeOf(zxid: number): Position {
  if (lastWhole.zxid !== zxid) lastWhole = { zxid, k: ALL };
  return lastWhole;
}

/** A whole transaction's frames, encoded once: the streams of one path and kind share the batch. */
const txnFrames = new WeakMap<readonly Change[], SharedFrame>();
function framesOf(txn: readonly Change[]): SharedFrame {
  let frame = txnFrames.get(txn);
  if (!frame) txnFrames.set(txn, (frame = new SharedFrame(Buffer.from(txn.map(eventFrame).join('')))));
  return frame;
}

/**
 * The open streams, swept for heartbeats by one timer (unref'd) while any is open: a timer per
 * stream cost ~250 bytes each and a re-arm every 10 s per stream.
 */
const beating = new Set<WatchStream>();
let sweeper: NodeJS.Timeout | undefined;

function startBeating(stream: WatchStream): void {
  beating.add(stream);
  sweeper ??= setInterval(() => {
    const now = performance.now();
    for (const s of beating) s.beatIfIdle(now);
  }, HEARTBEAT_SWEEP_MS).unref();
}

function stopBeating(stream: WatchStream): void {
  beating.delete(stream);
  if (beating.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** Several transactions' frames in one buffer, built once for all the streams handed the same list. */
const manyFrames = new WeakMap<readonly (readonly Change[])[], SharedFrame>();
function framesOfMany(txns: readonly (readonly Change[])[]): SharedFrame {
  let frame = manyFrames.get(txns);
  if (!frame) manyFrames.set(txns, (frame = new SharedFrame(Buffer.concat(txns.map((txn) => framesOf(txn).bytes)))));
  return frame;
}

/** How long a stream's answer waits for its watch to be set (a gateway's ZooKeeper answering addWatch). */
const WATCH_SET_WAIT_MS = 5000;

export async function streamWatch(c: Context, deps: AppDeps, path: string): Promise<Response> {
  const recursive = parseBoolean(c.req.query('recursive'), 'recursive');
  const resume = resumePoint(c);
  const caller = callerOfContext(c);
  // Counted with the session streams, against the node's and the caller's limits (limits/stream-slots.ts).
  const release = takeStreamSlot(c, deps, limitKeyOf(caller.auth));
  if (release instanceof Response) return release;
  onResponseClosed(c, release);
  // A client that got the answer and then writes must hear of its write: answer once the watch is set.
  const held = deps.backend.changes.hold?.(path, recursive);
  if (held) {
    onResponseClosed(c, held.release);
    await settledWithin(held.ready, WATCH_SET_WAIT_MS);
  }
  return sseResponse(c, (sink) => {
    new WatchStream(sink, deps, path, recursive, caller.auth, release).start(resume);
    held?.release();
  });
}

/** `ready`, or `ms` later if it takes longer (the stream then opens anyway; its watch's answer comes as a gap or an error). */
async function settledWithin(ready: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([ready, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

class WatchStream implements ChangeSubscriber {
  private readonly queued: Queued[] = [];
  /** Replaying, writing the queue, or waiting for the client to catch up: live events queue behind. */
  private busy = false;
  private at: Position = { zxid: 0, k: ALL };
  private lastWriteMs = performance.now();
  private unsubscribe: () => void = () => undefined;

  constructor(
    private readonly sink: SseSink, private readonly deps: AppDeps, private readonly path: string, private readonly recursive: boolean,
    private readonly auth: readonly string[], private readonly release: Release,
  ) {}

  /** Whether the caller may hear of this event: READ in its node's ACL at the change. */
  private readable(e: Change): boolean {
    return e.acl === undefined || e.acl === OPEN_ACL || permits(e.acl, PERM.READ, this.auth);
  }

  /** The events the caller may hear of: the same list (its frames shared with other streams) when all. */
  private visible(events: readonly Change[]): readonly Change[] {
    return this.readsAll(events) ? events : events.filter((e) => this.readable(e));
  }

  /** A loop, not `every` with a closure: it runs for every stream on every event. */
  private readsAll(events: readonly Change[]): boolean {
    for (let i = 0; i < events.length; i++) if (!this.readable(events[i]!)) return false;
    return true;
  }

  start(resume: Position | undefined): void {
    const { changes } = this.deps.backend;
    this.unsubscribe = changes.subscribe(this.path, this.recursive, this);
    this.sink.onGone(() => this.stop());
    this.at = resume ?? { zxid: changes.appliedZxid, k: ALL };
    this.write(': connected\n\n');
    startBeating(this);
    if (resume) this.drive(() => this.replay());
  }

  changed(all: readonly Change[]): void {
    const zxid = all[0]!.zxid;
    const events = this.visible(all);
    if (events.length === 0) return;
    if (this.busy || this.queued.length > 0 || this.at.k !== ALL || zxid <= this.at.zxid) return this.enqueue(events);
    this.writeLive(framesOf(events), zxid);
  }

  /** Transactions that queued up in the feed: one write of their shared frames when the stream is live and may read them all. */
  changedMany(all: readonly (readonly Change[])[]): void {
    const first = all[0]![0]!.zxid;
    const live = !this.busy && this.queued.length === 0 && this.at.k === ALL && first > this.at.zxid;
    if (!live || !all.every((events) => this.readsAll(events))) {
      for (const events of all) this.changed(events);
      return;
    }
    this.writeLive(framesOfMany(all), all[all.length - 1]![0]!.zxid);
  }

  /**
   * The live path, run for every stream on every event: no closure (as `guarded` takes) and no
   * position object of its own (the streams share wholeOf's).
   */
  private writeLive(frame: SharedFrame, zxid: number): void {
    try {
      const ok = this.write(frame);
      this.at = wholeOf(zxid);
      if (!ok) this.drive(() => this.sink.drained());
    } catch (error) {
      this.deps.logger.error({ err: error, event: 'watch-stream-failed', path: this.path }, 'watch stream failed');
      this.stop();
    }
  }

  gap(zxid: number): void {
    this.enqueue({ gapThrough: zxid });
  }

  private enqueue(item: Queued): void {
    if (this.sink.closed) return;
    this.queued.push(item);
    this.guarded(() => {
      if (this.queued.length > this.deps.config.outboxEventsMax) {
        this.write(sseFrame('overflow', JSON.stringify({ reason: 'the client is not keeping up; resume with Last-Event-ID' })));
        this.stop();
      } else if (!this.busy) {
        this.drive(async () => undefined);
      }
    });
  }

  /** Runs `first`, then writes the queue; live events queue meanwhile (the feed calls them: never throw there). */
  private drive(first: () => Promise<void>): void {
    this.busy = true;
    void first().then(() => this.writeQueued()).catch((error: unknown) => {
      this.deps.logger.error({ err: error, event: 'watch-stream-failed', path: this.path }, 'watch stream failed');
      this.stop();
    });
  }

  private guarded(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.deps.logger.error({ err: error, event: 'watch-stream-failed', path: this.path }, 'watch stream failed');
      this.stop();
    }
  }

  /** Writes what queued up; back to writing live events in place once the queue is empty. */
  private async writeQueued(): Promise<void> {
    while (!this.sink.closed) {
      const next = this.queued.shift();
      if (!next) {
        this.busy = false;
        return;
      }
      if (!this.writeItem(next)) await this.sink.drained();
    }
  }

  private writeItem(item: Queued): boolean {
    if (!('gapThrough' in item)) return this.writeTxn(item[0]!.zxid, item);
    // Only a gap ahead of where the stream is loses anything; never rewind it.
    if (item.gapThrough <= this.at.zxid) return true;
    this.at = { zxid: item.gapThrough, k: ALL };
    return this.writeReset(item.gapThrough, 'changes up to this zxid were not seen one by one (this node caught up from a checkpoint, or a gateway reconnected to ZooKeeper); read state again');
  }

  /** Writes one transaction's matching events, skipping those at or before `at`; false when the client is behind. */
  private writeTxn(zxid: number, txn: readonly Change[]): boolean {
    const { at } = this;
    if (zxid < at.zxid) return true;
    this.at = { zxid, k: ALL };
    if (txn.length === 0) return true;
    if (zxid > at.zxid || at.k === -1) return this.write(framesOf(txn));
    let ok = true;
    for (let k = at.k + 1; k < txn.length; k++) ok = this.write(eventFrame(txn[k]!, k)) && ok;
    return ok;
  }

  private writeReset(zxid: number, reason: string): boolean {
    return this.write(sseFrame('reset', JSON.stringify({ zxid: String(zxid), reason })));
  }

  /** Replays the history after `at`, one whole transaction at a time (a page never splits one). */
  private async replay(): Promise<void> {
    const { changes } = this.deps.backend;
    const matches = matcher(this.path, this.recursive);
    const floor = changes.floor(this.path, this.recursive);
    // Trimming drops whole transactions: a resume inside the floor's one missed its rest too.
    if (this.at.zxid < floor || (this.at.zxid === floor && this.at.k !== ALL)) {
      this.at = { zxid: floor, k: ALL };
      if (!this.writeReset(floor, 'history before this zxid was compacted away; read state again')) await this.sink.drained();
    }
    for (let page = 0; page < 1_000_000 && !this.sink.closed; page++) {
      const { at } = this;
      const rows = changes.replay(at.k === ALL ? at.zxid : at.zxid - 1, REPLAY_PAGE);
      if (rows.length === 0) return;
      const full = rows.length === REPLAY_PAGE;
      const lastZxid = rows[rows.length - 1]!.zxid;
      // A full page may end inside a transaction: leave that one for the next page, unless it
      // is the only one (a large multi), which is then read whole.
      const complete = full ? rows.filter((r) => r.zxid !== lastZxid) : rows;
      const batch = complete.length > 0 ? complete : changes.at(lastZxid);
      for (let i = 0; i < batch.length && !this.sink.closed; ) {
        const zxid = batch[i]!.zxid;
        const txn: Change[] = [];
        for (; i < batch.length && batch[i]!.zxid === zxid; i++) if (matches(batch[i]!) && this.readable(batch[i]!)) txn.push(batch[i]!);
        if (!this.writeTxn(zxid, txn)) await this.sink.drained();
      }
      if (!full) return;
    }
  }

  private write(chunk: SseChunk): boolean {
    this.lastWriteMs = performance.now();
    return this.sink.write(chunk);
  }

  /** A comment after HEARTBEAT_MS without a write keeps proxies from closing an idle stream. */
  beatIfIdle(now: number): void {
    if (!this.sink.closed && now - this.lastWriteMs >= HEARTBEAT_MS) this.write(': heartbeat\n\n');
  }

  private stop(): void {
    this.release();
    this.unsubscribe();
    stopBeating(this);
    this.queued.length = 0;
    this.busy = true;
    this.sink.end();
  }
}

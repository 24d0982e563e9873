/**
 * GET /v1/watch/{path}?recursive= : a session-less persistent (recursive) watch that lives as
 * long as the stream. It subscribes to live changes first, then replays the change history after
 * the client's resume point, then follows the live changes, skipping what the replay already
 * sent: nothing lost, nothing twice. Ids are `<zxid>-<k>`, k counting this stream's events of
 * that zxid. A resume point older than the retained history gets `event: reset` first.
 */
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { zkError } from '../core/errors.ts';
import { isWithin } from '../core/tree/path.ts';
import type { EventType } from '../core/tree/results.ts';
import { parseEventId } from '../node/outbox.ts';
import type { AppDeps } from './app-deps.ts';
import { badRequest, errorResponse } from './errors.ts';
import { parseBoolean, parseZxid } from './values.ts';

const REPLAY_PAGE = 1000;
const HEARTBEAT_MS = 10_000;
/** Position.k meaning every event of that zxid was sent. */
const ALL = Number.MAX_SAFE_INTEGER;

interface Change {
  readonly zxid: number;
  readonly type: EventType;
  readonly path: string;
}

/** The node skipped history (it installed the leader's checkpoint): events through it are unknown. */
interface Gap {
  readonly gapThrough: number;
}

type Queued = readonly Change[] | Gap;

interface Position {
  zxid: number;
  /** Index of the last event sent at `zxid`; -1 when resuming after the whole zxid. */
  k: number;
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

/** Writes one transaction's matching events with their ids, skipping those at or before `at`. */
async function writeTxn(stream: SSEStreamingApi, changes: readonly Change[], at: Position): Promise<void> {
  for (let k = 0; k < changes.length; k++) {
    const e = changes[k]!;
    if (e.zxid < at.zxid || (e.zxid === at.zxid && k <= at.k)) continue;
    const data = JSON.stringify({ type: e.type, path: e.path, zxid: String(e.zxid) });
    await stream.writeSSE({ id: `${e.zxid}-${k}`, event: 'watch', data });
    at.zxid = e.zxid;
    at.k = k;
  }
}

/** Replays the history after `at`, one whole transaction at a time (a page never splits one). */
async function replay(stream: SSEStreamingApi, deps: AppDeps, matches: (e: Change) => boolean, at: Position): Promise<void> {
  for (let page = 0; page < 1_000_000 && !stream.aborted; page++) {
    const rows = deps.node.changes.replay(at.k === ALL ? at.zxid : at.zxid - 1, REPLAY_PAGE);
    if (rows.length === 0) return;
    const full = rows.length === REPLAY_PAGE;
    const lastZxid = rows[rows.length - 1]!.zxid;
    // A full page may end inside a transaction: leave that one for the next page, unless it
    // is the only one (a large multi), which is then read whole.
    const complete = full ? rows.filter((r) => r.zxid !== lastZxid) : rows;
    const batch = complete.length > 0 ? complete : deps.node.changes.history.at(lastZxid);
    for (let i = 0; i < batch.length; ) {
      const zxid = batch[i]!.zxid;
      const txn: Change[] = [];
      for (; i < batch.length && batch[i]!.zxid === zxid; i++) if (matches(batch[i]!)) txn.push(batch[i]!);
      await writeTxn(stream, txn, at);
      Object.assign(at, { zxid, k: ALL });
    }
    if (!full) return;
  }
}

export function streamWatch(c: Context, deps: AppDeps, path: string): Response {
  const recursive = parseBoolean(c.req.query('recursive'), 'recursive');
  const resume = resumePoint(c);
  const { changes } = deps.node;
  if (changes.subscribers >= deps.config.maxStreams) {
    return errorResponse(c, zkError('THROTTLEDOP', `at most ${deps.config.maxStreams} watch streams`));
  }
  const matches = matcher(path, recursive);
  return streamSSE(c, async (stream) => {
    const queued: Queued[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = changes.subscribe((events, gapThrough) => {
      if (gapThrough !== undefined) queued.push({ gapThrough });
      const mine = events.filter(matches);
      if (mine.length > 0) queued.push(mine);
      wake?.();
    });
    stream.onAbort(() => wake?.());
    try {
      const at: Position = resume ? { ...resume } : { zxid: changes.appliedZxid, k: ALL };
      await stream.write(': connected\n\n');
      if (resume) {
        const floor = changes.history.floor();
        // Trimming drops whole transactions: a resume inside the floor's one missed its rest too.
        if (at.zxid < floor || (at.zxid === floor && at.k !== ALL)) {
          await writeReset(stream, floor, 'history before this zxid was compacted away; read state again');
          Object.assign(at, { zxid: floor, k: ALL });
        }
        await replay(stream, deps, matches, at);
      }
      await follow(stream, queued, at, deps.config.outboxEventsMax, (w) => (wake = w));
    } finally {
      unsubscribe();
    }
  });
}

function writeReset(stream: SSEStreamingApi, zxid: number, reason: string): Promise<void> {
  return stream.writeSSE({ event: 'reset', data: JSON.stringify({ zxid: String(zxid), reason }) });
}

async function follow(
  stream: SSEStreamingApi, queued: Queued[], at: Position, maxQueued: number, setWake: (w: (() => void) | undefined) => void,
): Promise<void> {
  while (!stream.aborted) {
    if (queued.length > maxQueued) {
      await stream.writeSSE({ event: 'overflow', data: JSON.stringify({ reason: 'the client is not keeping up; resume with Last-Event-ID' }) });
      return;
    }
    for (const txn of queued.splice(0)) {
      if ('gapThrough' in txn) {
        // Only a gap ahead of where the stream is loses anything; never rewind it.
        if (txn.gapThrough > at.zxid) {
          await writeReset(stream, txn.gapThrough, 'this node caught up from a checkpoint; changes up to this zxid were not seen one by one; read state again');
          Object.assign(at, { zxid: txn.gapThrough, k: ALL });
        }
        continue;
      }
      const zxid = txn[0]!.zxid;
      if (zxid < at.zxid) continue;
      await writeTxn(stream, txn, at);
      Object.assign(at, { zxid, k: ALL });
    }
    let timer: NodeJS.Timeout | undefined;
    const woke = await new Promise<'event' | 'beat'>((resolve) => {
      setWake(() => resolve('event'));
      timer = setTimeout(() => resolve('beat'), HEARTBEAT_MS);
      if (queued.length > 0 || stream.aborted) resolve('event');
    });
    clearTimeout(timer);
    setWake(undefined);
    if (woke === 'beat' && !stream.aborted) await stream.write(': heartbeat\n\n');
  }
}

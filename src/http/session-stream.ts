/**
 * A session's event stream over Server-Sent Events. One writer per session, in zxid order: it
 * replays the outbox after `Last-Event-ID`, then follows it; a comment line at least every
 * timeoutMs/3 keeps proxies (and the session) alive. A second stream for the same session
 * replaces the first. The session's end is the last event, then the stream closes. Events the
 * client can no longer get (dropped past the outbox bound, or lost in a node restart) are
 * announced with `event: overflow`, and the stream goes on with what is kept.
 */
import type { Context } from 'hono';
import { zkError } from '../core/errors.ts';
import type { SessionEvents } from '../backend/backend.ts';
import { parseEventId } from '../node/outbox.ts';
import type { AppDeps } from './app-deps.ts';
import { badRequest, errorResponse } from './errors.ts';
import type { Release } from './limits/keyed-slots.ts';
import { onResponseClosed, streamKeyOf, takeStreamSlot } from './limits/stream-slots.ts';
import { sseFrame, sseResponse, type SseSink } from './sse-sink.ts';

/** A session's open stream: how to replace it, and the stream slot it holds (limits/stream-slots.ts). */
interface ActiveStream {
  readonly replace: () => void;
  /** The limit key of the caller that opened it. */
  readonly key: string;
  /** Gives the slot back; a no-op once a reconnect of the same caller took the slot over. */
  release: Release;
}

const active = new WeakMap<AppDeps, Map<number, ActiveStream>>();

function streamsOf(deps: AppDeps): Map<number, ActiveStream> {
  let map = active.get(deps);
  if (!map) active.set(deps, (map = new Map()));
  return map;
}

export function streamSessionEvents(c: Context, deps: AppDeps, sessionId: number): Response {
  const outbox = deps.backend.sessions.events(sessionId);
  if (!outbox) return errorResponse(c, zkError('SESSIONEXPIRED', `session ${sessionId} has ended`));
  const rawLast = c.req.header('last-event-id') ?? c.req.query('lastEventId');
  const last = rawLast === undefined || rawLast === '' ? undefined : parseEventId(rawLast);
  if (rawLast && !last) throw badRequest(`Last-Event-ID must be <zxid>-<k>, got "${rawLast}"`);
  const streams = streamsOf(deps);
  const key = streamKeyOf(c);
  // A reconnect by the same caller replaces the session's stream: it takes over its slot, it does not add one.
  const previous = streams.get(sessionId);
  let release: Release;
  if (previous !== undefined && previous.key === key) {
    release = previous.release;
    previous.release = () => undefined;
  } else {
    const slot = takeStreamSlot(c, deps, key);
    if (slot instanceof Response) return slot;
    release = slot;
  }
  const cursor = outbox.cursorAfter(last);
  // Aim well below the promised timeoutMs/3: timers fire late under load, never early.
  const heartbeatMs = Math.max(50, Math.floor(deps.backend.sessions.timeoutOf(sessionId) / 6));
  let replaced = false;
  const entry: ActiveStream = {
    key, release,
    replace: () => {
      replaced = true;
      outbox.wakeAll();
    },
  };
  onResponseClosed(c, () => entry.release());
  return sseResponse(c, (sink) => {
    const current = streams.get(sessionId);
    if (current !== entry) current?.replace();
    streams.set(sessionId, entry);
    sink.onGone(() => outbox.wakeAll());
    const stopped = () => replaced || sink.closed;
    // Told of an overflow, the client re-reads and re-watches; the stream goes on from what is kept.
    const opening = cursor.ok ? Promise.resolve() : overflow(sink);
    opening
      .then(() => pump(sink, outbox, cursor.ok ? cursor.seq : outbox.firstSeq, heartbeatMs, stopped, () => deps.backend.sessions.touch(sessionId)))
      .catch((error: unknown) => deps.logger.error({ err: error, event: 'session-stream-failed', sessionId }, 'session stream failed'))
      .finally(() => {
        if (streams.get(sessionId) === entry) streams.delete(sessionId);
        entry.release();
        sink.end();
      });
  });
}

/** Writes `chunk`, waiting while the client is behind. */
async function send(sink: SseSink, chunk: string): Promise<void> {
  if (!sink.write(chunk)) await sink.drained();
}

function overflow(sink: SseSink): Promise<void> {
  return send(sink, sseFrame('overflow', JSON.stringify({ reason: 'events after Last-Event-ID were dropped; read state again and set watches again' })));
}

async function pump(
  sink: SseSink, outbox: SessionEvents, from: number, heartbeatMs: number, stopped: () => boolean, alive: () => void,
): Promise<void> {
  let seq = from;
  await send(sink, ': connected\n\n');
  while (!stopped()) {
    const batch = outbox.read(seq);
    if (batch === 'overflow') {
      await overflow(sink);
      seq = outbox.firstSeq;
      continue;
    }
    for (const e of batch) {
      await send(sink, sseFrame(e.event, e.data, e.id));
      seq = e.seq + 1;
      if (e.event === 'session') return;
    }
    alive();
    let timer: NodeJS.Timeout | undefined;
    const beat = new Promise<'beat'>((resolve) => (timer = setTimeout(() => resolve('beat'), heartbeatMs)));
    const woke = await Promise.race([outbox.waitFor(seq).then(() => 'event' as const), beat]);
    clearTimeout(timer);
    if (woke === 'beat' && !stopped()) await send(sink, ': heartbeat\n\n');
  }
}

/**
 * The session outboxes of a converged node simulation run, checked against the applied log:
 * each open session's events (its deliveries in the log, in order, ids `<zxid>-<k>`, the data
 * the SessionManager pushes) on every host.
 *
 * What each host holds: its SessionManager pushes the deliveries of the entries it applies one
 * by one, from its incarnation's start (the checkpoint it restarted from) on, skipping what a
 * checkpoint from the leader replaced; it keeps the newest `outboxEventsMax`. So a host that
 * neither restarted nor installed a checkpoint since a session was created holds exactly that
 * session's newest events, with the same ids and data as every other such host. Every host
 * holds exactly the events of its applied ranges (never an event another host does not have).
 *
 * What a reader gets: a stream that starts (no Last-Event-ID) or resumes after any of the
 * session's event ids gets exactly the events after it, or `overflow` — and overflow only when
 * some of those events are missing here, or on a host that restarted or installed a checkpoint
 * since the session was created (it may not know what it missed). Never different events, and
 * never a silent gap (this found a first reader served a gap after a restart: fixed in 690bb30).
 */
import type { Cursor, Outbox, OutboxEvent } from '../../src/node/outbox.ts';
import { indexOf } from '../../src/core/consensus/zxid.ts';
import type { NodeCluster, SimNode } from './node-cluster.ts';
import type { AppliedEntry } from './node-watch-model.ts';

interface Expected {
  readonly id: string;
  readonly zxid: number;
  readonly k: number;
  readonly index: number;
  readonly data: string;
}

export interface OutboxCounts {
  /** Outboxes (a session on a host) compared, and those that told a reader of events lost to a restart or an install. */
  readonly outboxes: number;
  readonly lostReported: number;
  /** Outboxes that dropped their oldest events past the bound. */
  readonly bounded: number;
}

/** Per host, the log index ranges (lo, hi] its SessionManager incarnation applied one by one. */
export class AppliedRanges {
  private readonly ranges = new Map<number, Array<[number, number]>>();

  /** A restart (from `index`, its checkpoint) or an install (at `index`) starts a new range. */
  restart(node: number, index: number): void {
    this.ranges.set(node, [[index, index]]);
  }

  installed(node: number, index: number): void {
    const list = this.ranges.get(node) ?? [[0, 0]];
    list.push([index, index]);
    this.ranges.set(node, list);
  }

  applied(node: number, index: number): void {
    if (!this.ranges.has(node)) this.ranges.set(node, [[0, 0]]);
    this.ranges.get(node)!.at(-1)![1] = index;
  }

  covers(node: number, index: number): boolean {
    return (this.ranges.get(node) ?? []).some(([lo, hi]) => index > lo && index <= hi);
  }

  /** Whether `node` applied everything from `index` on one by one. */
  describe(node: number): string {
    return (this.ranges.get(node) ?? []).map(([lo, hi]) => `(${lo}, ${hi}]`).join(' ');
  }

  cleanSince(node: number, index: number): boolean {
    const list = this.ranges.get(node) ?? [];
    return list.length === 1 && list[0]![0] < index;
  }
}

/** Each open session's events as the log routes them, with the ids its outboxes give them. */
function expectedEvents(log: ReadonlyMap<number, AppliedEntry>, open: ReadonlySet<number>): Map<number, Expected[]> {
  const bySession = new Map<number, Expected[]>();
  for (let index = 1; log.has(index); index++) {
    const { zxid, output } = log.get(index)!;
    for (const { sessionId, event } of output.deliveries ?? []) {
      if (!open.has(sessionId)) continue;
      const list = bySession.get(sessionId) ?? [];
      const last = list.at(-1);
      const k = last?.zxid === zxid ? last.k + 1 : 0;
      list.push({ id: `${zxid}-${k}`, zxid, k, index, data: JSON.stringify({ type: event.type, path: event.path, zxid: String(zxid) }) });
      bySession.set(sessionId, list);
    }
  }
  return bySession;
}

const same = (held: readonly OutboxEvent[], expected: readonly Expected[]) =>
  held.length === expected.length && held.every((e, i) => e.event === 'watch' && e.id === expected[i]!.id && e.data === expected[i]!.data);

const show = (events: ReadonlyArray<{ id: string }>) => `[${events.map((e) => e.id).join(' ')}]`;

export function checkOutboxes(cluster: NodeCluster, log: ReadonlyMap<number, AppliedEntry>, ranges: AppliedRanges, fail: (message: string) => never): OutboxCounts {
  const open = new Set(cluster.nodes[0]!.host!.tree.sessions.all().map((s) => s.id));
  const expected = expectedEvents(log, open);
  let outboxes = 0;
  let lostReported = 0;
  let bounded = 0;
  for (const session of open) {
    const all = expected.get(session) ?? [];
    for (const node of cluster.nodes) {
      const outbox = node.sessions!.outbox(session);
      if (!outbox) fail(`n${node.id} has no outbox for open session ${session}`);
      outboxes++;
      const verdict = checkOutbox(node, session, outbox, all, ranges, cluster.options.outboxEventsMax, fail);
      if (verdict.lost) lostReported++;
      if (verdict.bounded) bounded++;
    }
  }
  return { outboxes, lostReported, bounded };
}

/** One session's outbox on one host. `lost`: it (rightly) told a reader of events lost to a restart or an install. */
function checkOutbox(
  node: SimNode, session: number, outbox: Outbox, all: readonly Expected[], ranges: AppliedRanges, bound: number, fail: (message: string) => never,
): { lost: boolean; bounded: boolean } {
  const what = `n${node.id}'s outbox of session ${session} (created at index ${indexOf(session)}; n${node.id} applied ${ranges.describe(node.id)} one by one)`;
  const pushed = all.filter((e) => ranges.covers(node.id, e.index));
  const kept = pushed.slice(-bound);
  const held = outbox.read(outbox.firstSeq);
  if (held === 'overflow' || !same(held, kept)) fail(`${what} holds ${held === 'overflow' ? held : show(held)}; from the log it should hold ${show(kept)}`);
  if (outbox.lastId !== kept.at(-1)?.id) fail(`${what} says its last event is ${outbox.lastId}, not ${kept.at(-1)?.id}`);
  const clean = ranges.cleanSince(node.id, indexOf(session));
  const keptSet = new Set(kept);
  const pushedSet = new Set(pushed);
  // Whether some event after position i (of `all`) is missing here, or was never pushed here.
  const missingAfter: boolean[] = [];
  const lostAfter: boolean[] = [];
  for (let i = all.length - 1, missing = false, never = false; i >= -1; i--) {
    missingAfter[i + 1] = missing;
    lostAfter[i + 1] = never;
    if (i >= 0) {
      missing ||= !keptSet.has(all[i]!);
      never ||= !pushedSet.has(all[i]!);
    }
  }
  let lost = false;
  // A reader resuming after each event, or starting afresh (-1).
  for (let from = -1; from < all.length; from++) {
    const after = all.slice(from + 1);
    const last = from < 0 ? undefined : all[from]!;
    const cursor: Cursor = outbox.cursorAfter(last && { zxid: last.zxid, k: last.k });
    const where = `a reader of ${what} ${last ? `resuming after ${last.id}` : 'starting afresh'}`;
    if (cursor.ok) {
      const got = outbox.read(cursor.seq);
      if (got === 'overflow' || !same(got, after)) fail(`${where} gets ${got === 'overflow' ? got : show(got)}, not ${show(after)}`);
      continue;
    }
    if (!missingAfter[from + 1] && clean) fail(`${where} is told of an overflow, but holds every event after it (${show(after)})`);
    if (lostAfter[from + 1]) lost = true;
  }
  return { lost, bounded: kept.length < pushed.length };
}

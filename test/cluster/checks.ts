/**
 * What a cluster run must satisfy once it has converged. Each check returns the problems it
 * found as text (empty: fine), so a run reports all of them at once with its seed.
 *
 * The authority is the change history of /lin (every create, setData and delete with its zxid),
 * replayed from zxid 0 on every member: all replays must be identical, and every acknowledged
 * write must be in it at the zxid its answer gave. Against it:
 * - the linearizability checker gets every write (unknown outcomes included) and every
 *   linearizable read;
 * - every read (plain ones too) must show exactly the key's state after the history's prefix
 *   up to the Zk-Zxid it was answered with, and that Zk-Zxid is at least the Zk-Min-Zxid sent;
 * - each key's events are no more than the writes that could have caused them (none twice);
 * - each watch stream delivered ids strictly increasing, none twice, the same sequence.
 */
import { checkLinearizable } from '../linearizability/checker.ts';
import { znodeModel } from '../linearizability/model.ts';
import type { WatchEvent, WatchFollower } from './watch-follower.ts';
import type { LinOperation, ReadRecord } from './workload.ts';

export interface KeyState {
  readonly exists: boolean;
  readonly version: number;
  readonly mzxid: bigint;
}

const ABSENT: KeyState = { exists: false, version: -1, mzxid: 0n };

/** Each path's events in zxid order. */
export function eventsByPath(events: readonly WatchEvent[]): Map<string, WatchEvent[]> {
  const byPath = new Map<string, WatchEvent[]>();
  for (const e of events) byPath.set(e.path, [...(byPath.get(e.path) ?? []), e]);
  return byPath;
}

/** A key's state after every event at or before `zxid`. */
export function stateAt(events: readonly WatchEvent[] | undefined, zxid: bigint): KeyState {
  let state = ABSENT;
  for (const e of events ?? []) {
    if (e.zxid > zxid) break;
    if (e.type === 'NodeCreated') state = { exists: true, version: 0, mzxid: e.zxid };
    else if (e.type === 'NodeDataChanged') state = { exists: true, version: state.version + 1, mzxid: e.zxid };
    else if (e.type === 'NodeDeleted') state = ABSENT;
  }
  return state;
}

const describeOp = (op: LinOperation) =>
  `client ${op.clientId} node ${op.node} [${op.call.toFixed(1)}, ${op.return === Infinity ? '∞' : op.return.toFixed(1)}] ` +
  `${JSON.stringify(op.input)} → ${JSON.stringify(op.output)} zk-zxid ${op.zxid}${op.mzxid > 0n ? ` mzxid ${op.mzxid}` : ''}`;

/** The WGL checker over writes and linearizable reads; on failure the partition's operations around the failure. */
export function checkHistory(history: readonly LinOperation[]): string[] {
  const result = checkLinearizable(history, znodeModel(), { timeoutMs: 20_000 });
  if (result.ok === true) return [];
  if (result.ok === 'unknown') return [`linearizability check inconclusive (${result.reason}) on ${result.partition}: ${JSON.stringify(result.stats)}`];
  const problems = [`not linearizable:\n${result.message}`];
  const unplaced = result.unplaced.map((u) => u.operation as LinOperation);
  const first = Math.min(...unplaced.map((op) => op.call)) - 2000;
  const last = Math.max(...unplaced.map((op) => (op.return === Infinity ? op.call : op.return))) + 500;
  const around = history.filter((op) => op.input.path === result.partition && op.call <= last && (op.return >= first));
  problems.push(`operations on ${result.partition} in [${first.toFixed(1)}, ${last.toFixed(1)}]:\n${around.map(describeOp).join('\n')}`);
  return problems;
}

/** Values of the acknowledged writes by (path, mzxid), and every value any write tried. */
function writtenValues(history: readonly LinOperation[]) {
  const acked = new Map<string, string>();
  const tried = new Map<string, LinOperation>();
  for (const op of history) {
    if (op.input.op === 'read' || op.input.op === 'delete') continue;
    tried.set(op.input.data, op);
    if (op.output.ok === true) acked.set(`${op.input.path}@${op.mzxid}`, op.input.data);
  }
  return { acked, tried };
}

/** The highest zxid of a write `clientId` had acknowledged before `time`. */
function ownWritesBefore(history: readonly LinOperation[]): (clientId: number, time: number) => LinOperation | undefined {
  const byClient = new Map<number, LinOperation[]>();
  for (const op of history) {
    if (op.input.op === 'read' || op.output.ok !== true || op.mzxid === 0n) continue;
    byClient.set(op.clientId as number, [...(byClient.get(op.clientId as number) ?? []), op]);
  }
  return (clientId, time) => {
    let newest: LinOperation | undefined;
    for (const op of byClient.get(clientId) ?? []) if (op.return < time && (newest === undefined || op.mzxid > newest.mzxid)) newest = op;
    return newest;
  };
}

/**
 * Every read shows the state after the prefix of the history up to the Zk-Zxid it came with,
 * that Zk-Zxid is at least the Zk-Min-Zxid sent (monotonic reads) and at least the zxid of every
 * write the same client had acknowledged before (read-your-writes, through any member).
 */
export function checkReads(reads: readonly ReadRecord[], history: readonly LinOperation[], byPath: Map<string, WatchEvent[]>): string[] {
  const problems: string[] = [];
  const { acked, tried } = writtenValues(history);
  const ownWrite = ownWritesBefore(history);
  for (const r of reads) {
    const what = `${r.linearizable ? 'linearizable' : 'plain'} read of ${r.path} by client ${r.clientId} on node ${r.node} (min ${r.minZxid}, zk-zxid ${r.zxid})`;
    if (r.zxid < r.minZxid) problems.push(`${what}: answered with Zk-Zxid below the Zk-Min-Zxid it sent`);
    const own = ownWrite(r.clientId, r.call);
    if (own !== undefined && r.zxid < own.mzxid) problems.push(`${what}: older than the client's own acknowledged ${describeOp(own)}`);
    const expected = stateAt(byPath.get(r.path), r.zxid);
    const observed: KeyState = r.exists ? { exists: true, version: r.version!, mzxid: r.mzxid! } : ABSENT;
    if (expected.exists !== observed.exists || expected.version !== observed.version || expected.mzxid !== observed.mzxid) {
      problems.push(`${what}: saw ${JSON.stringify(observed, replacer)} but the history up to its zxid gives ${JSON.stringify(expected, replacer)}`);
      continue;
    }
    if (!r.exists) continue;
    const ackedValue = acked.get(`${r.path}@${r.mzxid}`);
    const writer = tried.get(r.data!);
    if (ackedValue !== undefined && ackedValue !== r.data) problems.push(`${what}: data ${r.data} but the write acknowledged at ${r.mzxid} wrote ${ackedValue}`);
    if (writer === undefined || writer.input.path !== r.path) problems.push(`${what}: data ${r.data} was never written to ${r.path}`);
    else if (writer.call > r.return) problems.push(`${what}: data ${r.data} was written only after the read returned`);
  }
  return problems;
}

const replacer = (_: string, v: unknown) => (typeof v === 'bigint' ? String(v) : v);

/** Every acknowledged write is in the history at its zxid; no key has more events than writes that could cause them. */
export function checkWritesInHistory(history: readonly LinOperation[], byPath: Map<string, WatchEvent[]>, root: string): string[] {
  const key = new RegExp(`^${root}/k\\d+$`);
  const problems: string[] = [];
  const typeOf = { create: 'NodeCreated', write: 'NodeDataChanged', cas: 'NodeDataChanged', delete: 'NodeDeleted' } as const;
  const bound = new Map<string, { acked: number; possible: number }>();
  for (const op of history) {
    if (op.input.op === 'read' || op.output.ok === false) continue;
    const type = typeOf[op.input.op];
    const key = `${op.input.path} ${type}`;
    const counts = bound.get(key) ?? { acked: 0, possible: 0 };
    counts.possible++;
    if (op.output.ok === true) counts.acked++;
    bound.set(key, counts);
    if (op.output.ok !== true || op.input.op === 'delete') continue;
    const found = (byPath.get(op.input.path) ?? []).find((e) => e.zxid === op.mzxid);
    if (found?.type !== type) problems.push(`acknowledged ${describeOp(op)} is not in the change history (found ${JSON.stringify(found, replacer)})`);
  }
  for (const [path, events] of byPath) {
    if (!key.test(path)) continue; // the root itself and the sentinel are not the workload's
    for (const type of ['NodeCreated', 'NodeDataChanged', 'NodeDeleted']) {
      const n = events.filter((e) => e.type === type).length;
      const counts = bound.get(`${path} ${type}`) ?? { acked: 0, possible: 0 };
      if (n < counts.acked || n > counts.possible) problems.push(`${path}: ${n} ${type} events, but ${counts.acked} acknowledged and ${counts.possible} possible writes`);
    }
  }
  return problems;
}

const line = (e: WatchEvent) => `${e.id} ${e.type} ${e.path}`;

/** Ids strictly increasing: no event twice, none out of order. */
export function checkIncreasing(events: readonly WatchEvent[], what: string): string[] {
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1]!;
    const b = events[i]!;
    if (b.zxid < a.zxid || (b.zxid === a.zxid && b.k <= a.k)) return [`${what}: event ${b.id} (node ${b.node}) after ${a.id} (node ${a.node})`];
  }
  return [];
}

/** The first difference between two event sequences, or undefined. */
export function firstDifference(actual: readonly WatchEvent[], expected: readonly WatchEvent[]): string | undefined {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === undefined || e === undefined || line(a) !== line(e)) {
      return `at #${i}: got ${a ? `${line(a)} (node ${a.node})` : 'nothing'}, expected ${e ? line(e) : 'nothing'} (${actual.length} vs ${expected.length} events)`;
    }
  }
  return undefined;
}

/** The zxid of a stream's last `event: reset` (history before it is unknown there), or undefined. */
export function lastReset(f: WatchFollower): bigint | undefined {
  return f.notices.filter((n) => n.event === 'reset').map((n) => BigInt((JSON.parse(n.data) as { zxid: string }).zxid)).at(-1);
}

/**
 * Every member's replay from zxid 0 through `end`: the authority is one that kept the whole
 * history since `start` (a member that caught up from a checkpoint says `reset` and starts after
 * it); every replay must equal it after its own reset point.
 */
export interface Authority {
  /** The most complete replay's events through `end`. */
  readonly events: WatchEvent[];
  /** What it lacks: events at or below this zxid are unknown to every member. */
  readonly floor: bigint;
  /** Whether it holds the run's whole history (floor at or below the run's start). */
  readonly complete: boolean;
}

export function compareReplays(replays: readonly WatchFollower[], start: bigint, end: bigint): { authority: Authority; problems: string[] } {
  const floors = replays.map((r) => lastReset(r) ?? 0n);
  const best = floors.indexOf(floors.reduce((a, b) => (b < a ? b : a)));
  const events = replays[best]!.events.filter((e) => e.zxid <= end);
  const problems = [...checkIncreasing(events, `replay on node ${best + 1}`)];
  replays.forEach((r, i) => {
    for (const n of r.notices) if (n.event !== 'reset') problems.push(`replay on node ${i + 1}: unexpected ${n.event}: ${n.data}`);
    const after = (list: readonly WatchEvent[]) => list.filter((e) => e.zxid > floors[i]! && e.zxid <= end);
    const difference = firstDifference(after(r.events), after(events));
    if (difference) problems.push(`replay on node ${i + 1} (after ${floors[i]}) differs from node ${best + 1}'s: ${difference}`);
  });
  return { authority: { events, floor: floors[best]!, complete: floors[best]! <= start }, problems };
}

/**
 * A follower's events through `throughZxid` equal the authority's after its start; after an
 * `event: reset` only what follows the reset point is compared (and the reset is reported).
 */
export function checkFollower(f: WatchFollower, authority: Authority, throughZxid: bigint, name: string): { problems: string[]; resets: string[] } {
  const problems = [...f.errors.map((e) => `${name}: ${e}`), ...checkIncreasing(f.events, name)];
  const resets = f.notices.filter((n) => n.event === 'reset').map((n) => `${name}: reset from node ${n.node}: ${n.data}`);
  for (const n of f.notices) if (n.event !== 'reset') problems.push(`${name}: unexpected event ${n.event} from node ${n.node}: ${n.data}`);
  const reset = lastReset(f) ?? f.fromZxid;
  const from = reset > authority.floor ? reset : authority.floor;
  // Before a reset: still only events of the history, once each (the ids check), in order.
  const known = new Set(authority.events.map(line));
  for (const e of f.events) {
    if (e.zxid > authority.floor && e.zxid <= from && !known.has(line(e))) problems.push(`${name}: event ${line(e)} from node ${e.node} is not in the history`);
  }
  const got = f.events.filter((e) => e.zxid > from && e.zxid <= throughZxid);
  const expected = authority.events.filter((e) => e.zxid > from && e.zxid <= throughZxid);
  const difference = firstDifference(got, expected);
  if (difference) problems.push(`${name} (connections to ${f.connections.join(' → ')}): ${difference}`);
  return { problems, resets };
}

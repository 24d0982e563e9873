// The session oracle's operation model and its seeded generator. A run is 2–3 client sessions
// (slots s0, s1, ...; a closed slot may be followed by a newly opened one, at most 3 open at a
// time) acting on one root (/sessions-<seed>): creates in the four classic modes, setData,
// delete, reads that set watches, closes, and ops by sessions already closed. A sequence is a pure
// function of its seed (mulberry32 via Rng), so a failure replays with SESSIONS_SEED.
// Data travels as base64 strings so ops and outcomes print as JSON.
import { Rng } from './ops.ts';

export type SessionCreateMode = 'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential';
export type ReadKind = 'getData' | 'exists' | 'getChildren';

export type SessionOp =
  | { op: 'open'; s: number }
  | { op: 'close'; s: number }
  | { op: 'create'; s: number; path: string; data: string; mode: SessionCreateMode }
  | { op: 'setData'; s: number; path: string; data: string; version: number }
  | { op: 'delete'; s: number; path: string; version: number }
  | { op: ReadKind; s: number; path: string; watch: boolean };

export type EventType = 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged' | 'NodeChildrenChanged';
export interface WatchEvent { type: EventType; path: string }

/** A Stat without zxids and times; ephemeralOwner as the owning slot ('s1'), 'none', or 'other:<id>'. */
export interface OwnedStat {
  version: number; cversion: number; aversion: number; dataLength: number; numChildren: number; owner: string;
}
export type SessionOutcome =
  | { ok: true; path?: string; data?: string; children?: string[]; stat?: OwnedStat }
  | { ok: false; code: string; detail?: string };

/** One side of the comparison: ZooKeeper through node-zookeeper-client, or Corral over HTTP + SSE. */
export interface SessionSide {
  readonly name: string;
  /** Runs one op; an op by a closed session answers what that side says about the session. */
  run(op: SessionOp): Promise<SessionOutcome>;
  /** Waits (bounded) until every session has received every event queued for it; a problem, or null. */
  settle(): Promise<string | null>;
  /** The watch events slot `s` received since the last call, in order. */
  takeEvents(s: number): WatchEvent[];
  /** Contract problems seen so far (malformed events, a stream that ended wrongly), then cleared. */
  takeProblems(): string[];
  /** Closes every session, connection and stream of this side; idempotent. */
  shutdown(): Promise<void>;
}

export const EVENT_TYPES: Readonly<Record<number, EventType>> = {
  1: 'NodeCreated', 2: 'NodeDeleted', 3: 'NodeDataChanged', 4: 'NodeChildrenChanged',
};

export const isEphemeral = (mode: SessionCreateMode): boolean => mode.startsWith('ephemeral');
export const isSequentialMode = (mode: SessionCreateMode): boolean => mode.endsWith('_sequential');
export const parentOf = (path: string): string => {
  const parent = path.slice(0, path.lastIndexOf('/'));
  return parent === '' ? '/' : parent;
};

/** Ephemeral owner as a slot label, given each slot's session id in that side's notation. */
export function ownerLabel(owner: string, slotIds: readonly (string | undefined)[]): string {
  if (owner === '0') return 'none';
  const slot = slotIds.indexOf(owner);
  return slot >= 0 ? `s${slot}` : `other:${owner}`;
}

// Relative to the run root. '/e' and '/a/e' are meant for ephemerals (and '/e/k' to be refused
// under one); a space and an accent check the paths of events.
const UNIVERSE = ['', '/a', '/a/b', '/a/e', '/b', '/b/x y', '/e', '/e/k', '/é'] as const;
const SEQ_PARENTS = ['', '/a', '/e'] as const;
const SEQ_PREFIX = '/s-';
const MAX_OPEN = 3;
const MAX_SLOTS = 6;

/** The generator's guess of the state, only to aim ops at live nodes and sessions more often. */
class Belief {
  readonly nodes = new Map<string, number | null>(); // path → owning slot of an ephemeral, else null
  readonly creations = new Map<string, number>();
  readonly open: number[] = [];
  readonly closed: number[] = [];
  slots = 0;

  create(op: Extract<SessionOp, { op: 'create' }>): void {
    const seq = isSequentialMode(op.mode);
    const parent = seq ? op.path.slice(0, op.path.lastIndexOf('/')) : parentOf(op.path);
    if (!this.nodes.has(parent) || this.nodes.get(parent) !== null) return;
    const count = this.creations.get(parent) ?? 0;
    const path = seq ? op.path + String(count).padStart(10, '0') : op.path;
    if (this.nodes.has(path)) return;
    this.creations.set(parent, count + 1);
    this.nodes.set(path, isEphemeral(op.mode) ? op.s : null);
  }

  remove(path: string): void {
    if ([...this.nodes.keys()].some((n) => parentOf(n) === path)) return;
    this.nodes.delete(path);
  }

  close(s: number): void {
    this.open.splice(this.open.indexOf(s), 1);
    this.closed.push(s);
    for (const [path, owner] of this.nodes) if (owner === s) this.nodes.delete(path);
  }
}

class SessionGenerator {
  readonly belief = new Belief();
  private readonly pending: SessionOp[] = [];
  constructor(private readonly rng: Rng, readonly root: string) {}

  openSlot(): SessionOp {
    const s = this.belief.slots++;
    this.belief.open.push(s);
    return { op: 'open', s };
  }

  /** A read's target: often a live node (an ephemeral above all) or its parent, so its watch is likely to fire. */
  readPath(): string {
    const rng = this.rng;
    const known = [...this.belief.nodes.keys()].sort();
    const ephemerals = [...this.belief.nodes].filter(([, owner]) => owner !== null).map(([p]) => p).sort();
    return rng.weighted<() => string>([
      [30, () => rng.pick(known)],
      [ephemerals.length > 0 ? 30 : 0, () => (rng.chance(0.5) ? rng.pick(ephemerals) : parentOf(rng.pick(ephemerals)))],
      [15, () => parentOf(rng.pick(known))],
      [15, () => this.root + rng.pick(UNIVERSE)],
      [10, () => this.seqGuess()],
    ])();
  }

  /** A write's target: never the run root (deleting it, or recreating it as an ephemeral, ends the run's use). */
  path(): string {
    const rng = this.rng;
    const known = [...this.belief.nodes.keys()].filter((p) => p !== this.root).sort();
    return rng.weighted<() => string>([
      [known.length > 0 ? 65 : 0, () => rng.pick(known)],
      [27, () => this.root + rng.pick(UNIVERSE.slice(1))],
      [8, () => this.seqGuess()],
    ])();
  }

  private seqGuess(): string {
    return this.root + this.rng.pick(SEQ_PARENTS) + SEQ_PREFIX + String(this.rng.int(4)).padStart(10, '0');
  }

  data(): string {
    const rng = this.rng;
    const bytes = rng.weighted<() => Uint8Array>([
      [30, () => new Uint8Array(0)],
      [50, () => Buffer.from(`v${rng.int(1000)}`, 'utf8')],
      [20, () => Uint8Array.from({ length: 1 + rng.int(6) }, () => rng.int(256))],
    ])();
    return Buffer.from(bytes).toString('base64');
  }

  /** A universe path that is probably free and whose parent probably exists (else any write path). */
  freshPath(): string {
    const fresh = UNIVERSE.map((p) => this.root + p)
      .filter((p) => !this.belief.nodes.has(p) && this.belief.nodes.has(parentOf(p)));
    return fresh.length > 0 && this.rng.chance(0.7) ? this.rng.pick(fresh) : this.path();
  }

  create(s: number): SessionOp {
    const rng = this.rng;
    const mode = rng.weighted<SessionCreateMode>([
      [30, 'persistent'], [35, 'ephemeral'], [17, 'ephemeral_sequential'], [18, 'persistent_sequential'],
    ]);
    const path = isSequentialMode(mode) ? this.root + rng.pick(SEQ_PARENTS) + SEQ_PREFIX : this.freshPath();
    return { op: 'create', s, path, data: this.data(), mode };
  }

  op(): SessionOp {
    const queued = this.pending.shift();
    if (queued !== undefined) return queued;
    const rng = this.rng;
    const b = this.belief;
    const canOpen = b.open.length < MAX_OPEN && b.slots < MAX_SLOTS;
    const s = (): number => rng.pick(b.open);
    const op = rng.weighted<() => SessionOp>([
      [22, () => this.create(s())],
      [8, () => ({ op: 'setData', s: s(), path: this.path(), data: this.data(), version: rng.chance(0.8) ? -1 : rng.int(2) })],
      [9, () => ({ op: 'delete', s: s(), path: this.path(), version: rng.chance(0.85) ? -1 : rng.int(2) })],
      [14, () => ({ op: 'exists', s: s(), path: rng.chance(0.3) ? this.freshPath() : this.readPath(), watch: rng.chance(0.9) })],
      [12, () => ({ op: 'getData', s: s(), path: this.readPath(), watch: rng.chance(0.9) })],
      [14, () => ({ op: 'getChildren', s: s(), path: this.readPath(), watch: rng.chance(0.9) })],
      [b.nodes.size > 1 ? 8 : 0, () => this.watchPair(s())],
      [b.open.length >= 2 ? 6 : 0, () => ({ op: 'close', s: rng.chance(0.7) ? this.richestSession() : s() })],
      [canOpen ? (b.open.length < 2 ? 30 : 4) : 0, () => this.openSlot()],
      [b.closed.length > 0 ? 4 : 0, () => this.byClosedSession(rng.pick(b.closed))],
    ])();
    if (op.op === 'create') b.create(op);
    else if (op.op === 'delete' && op.version === -1) b.remove(op.path);
    else if (op.op === 'close') b.close(op.s);
    return op;
  }

  /**
   * A data watch on a live node, then a child watch on its parent, by one session: its deletion
   * (or its owner's close) then sends that session two events whose order is checked.
   */
  private watchPair(s: number): SessionOp {
    const rng = this.rng;
    const path = rng.pick([...this.belief.nodes.keys()].filter((p) => p !== this.root).sort());
    this.pending.push({ op: 'getChildren', s, path: parentOf(path), watch: true });
    return { op: rng.chance(0.5) ? 'getData' : 'exists', s, path, watch: true };
  }

  /** The open session owning the most ephemerals: closing it fires the most watches. */
  private richestSession(): number {
    const owned = (s: number): number => [...this.belief.nodes.values()].filter((o) => o === s).length;
    return this.belief.open.reduce((best, s) => (owned(s) > owned(best) ? s : best));
  }

  private byClosedSession(s: number): SessionOp {
    const rng = this.rng;
    const op = this.rng.weighted<() => SessionOp>([
      [3, () => this.create(s)],
      [1, () => ({ op: 'setData', s, path: this.path(), data: this.data(), version: -1 })],
      [1, () => ({ op: 'delete', s, path: this.path(), version: -1 })],
      [3, () => ({ op: rng.pick(['getData', 'exists', 'getChildren'] as const), s, path: this.readPath(), watch: rng.chance(0.7) })],
    ])();
    return op;
  }
}

export function sessionRoot(seed: number): string {
  return `/sessions-${seed}`;
}

/** A run: 2 or 3 sessions open, s0 creates the root, then `count` random ops. */
export function generateSessionOps(seed: number, count: number): SessionOp[] {
  const rng = new Rng(seed);
  const gen = new SessionGenerator(rng, sessionRoot(seed));
  const ops: SessionOp[] = [gen.openSlot(), gen.openSlot()];
  if (rng.chance(0.5)) ops.push(gen.openSlot());
  const rootOp: SessionOp = { op: 'create', s: 0, path: gen.root, data: '', mode: 'persistent' };
  gen.belief.nodes.set(gen.root, null);
  ops.push(rootOp);
  for (let i = 0; i < count; i++) ops.push(gen.op());
  return ops;
}

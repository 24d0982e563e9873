// Runs session ops against ZooKeeper and Corral one at a time and stops a run at its first
// difference. After every op both sides settle (every session has received every event of the
// op; see the drivers), then each slot's new watch events are compared: type, path and order.
// A close is the exception: ZooKeeper deletes the session's ephemerals "in no particular order",
// so there each session's events are compared as a multiset, and each side is checked on its own
// for the order that still holds: some one order of deleting those nodes explains every session's
// events (see closeOrderProblem), so a node's NodeDeleted comes right before its parent's
// NodeChildrenChanged when it is the parent's first deleted child, and all sessions agree.
import { show } from './compare.ts';
import { brief } from './runner.ts';
import { isEphemeral, parentOf, type SessionOp, type SessionOutcome, type SessionSide, type WatchEvent } from './session-ops.ts';

export interface SessionMismatch {
  seed: number | string;
  opIndex: number;
  op: SessionOp;
  zk: SessionOutcome;
  corral: SessionOutcome;
  zkEvents: string[];
  corralEvents: string[];
  note: string;
  history: string[];
}

const fmtEvents = (events: readonly WatchEvent[]): string => `[${events.map((e) => `${e.type} ${e.path}`).join(', ')}]`;
const key = (e: WatchEvent): string => `${e.type} ${e.path}`;
const sameMultiset = (a: readonly WatchEvent[], b: readonly WatchEvent[]): boolean =>
  show(a.map(key).sort()) === show(b.map(key).sort());
const withoutDetail = (o: SessionOutcome): SessionOutcome => {
  if (o.ok) return o;
  const { detail: _detail, ...rest } = o;
  return rest;
};

/** The events `list`'s session gets when the close deletes `order` in that order, given what it watched. */
function eventsOf(order: readonly string[], list: readonly WatchEvent[]): string[] {
  const deletedWatched = new Set(list.filter((e) => e.type === 'NodeDeleted').map((e) => e.path));
  const childWatched = new Set(list.filter((e) => e.type === 'NodeChildrenChanged').map((e) => e.path));
  const out: string[] = [];
  for (const node of order) {
    if (deletedWatched.has(node)) out.push(`NodeDeleted ${node}`);
    const parent = parentOf(node);
    if (childWatched.delete(parent)) out.push(`NodeChildrenChanged ${parent}`); // one-shot: the first child fires it
  }
  return out;
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) { yield [...items]; return; }
  for (const [i, head] of items.entries()) {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [head, ...rest];
  }
}

const MAX_ORDERED_CLOSE = 7; // up to 5040 orders; a bigger close is compared as a multiset only

/**
 * Whether one order of deleting the closed session's ephemerals explains every session's events on
 * this side (ZooKeeper deletes them one by one, each firing its node's watches, then its parent's):
 * every event belongs to the close, none twice, and a parent's NodeChildrenChanged comes right
 * after the NodeDeleted of its first deleted child. A description of the failure, or null.
 */
export function closeOrderProblem(side: string, lists: readonly (readonly WatchEvent[])[], deleted: readonly string[]): string | null {
  if (deleted.length > MAX_ORDERED_CLOSE) return null;
  for (const order of permutations(deleted)) {
    if (lists.every((list) => show(eventsOf(order, list)) === show(list.map(key)))) return null;
  }
  return `${side}: no one order of deleting ${show(deleted)} explains these events: ${lists.map((l, s) => `s${s} ${fmtEvents(l)}`).join(' ')}`;
}

export class SessionPairRunner {
  /** Ephemeral path → owning slot, kept from ZooKeeper's answers (a run stops at its first difference). */
  private readonly ephemerals = new Map<string, number>();
  private slots = 0;
  readonly history: string[] = [];

  constructor(private readonly zk: SessionSide, private readonly corral: SessionSide, private readonly seed: number | string) {}

  async runOps(ops: readonly SessionOp[]): Promise<SessionMismatch | null> {
    for (const [i, op] of ops.entries()) {
      const mismatch = await this.step(i, op);
      if (mismatch !== null) return mismatch;
    }
    return this.quiet(ops);
  }

  /** After the last op: settled again, no session may receive anything more, on either side. */
  private async quiet(ops: readonly SessionOp[]): Promise<SessionMismatch | null> {
    const last = ops[ops.length - 1];
    if (last === undefined) return null;
    const notes: string[] = [];
    for (const settled of await Promise.all([this.zk.settle(), this.corral.settle()])) {
      if (settled !== null) notes.push(settled);
    }
    notes.push(...this.zk.takeProblems(), ...this.corral.takeProblems());
    const zkEvents: string[] = [];
    const corralEvents: string[] = [];
    for (let s = 0; s < this.slots; s++) {
      const z = this.zk.takeEvents(s);
      const c = this.corral.takeEvents(s);
      if (z.length > 0) zkEvents.push(`s${s} ${fmtEvents(z)}`);
      if (c.length > 0) corralEvents.push(`s${s} ${fmtEvents(c)}`);
    }
    if (zkEvents.length > 0 || corralEvents.length > 0) notes.push('events arrived after the run had settled');
    if (notes.length === 0) return null;
    return {
      seed: this.seed, opIndex: ops.length - 1, op: last, zk: { ok: true }, corral: { ok: true }, zkEvents, corralEvents,
      note: `after the last op: ${notes.join('; ')}`, history: [...this.history],
    };
  }

  private async step(index: number, op: SessionOp): Promise<SessionMismatch | null> {
    if (op.op === 'open') this.slots = Math.max(this.slots, op.s + 1);
    const zkOut = withoutDetail(await this.zk.run(op));
    const corralRaw = await this.corral.run(op);
    const corralOut = withoutDetail(corralRaw);
    const notes: string[] = [];
    if (show(zkOut) !== show(corralOut)) notes.push('outcomes differ');
    if (!corralRaw.ok && corralRaw.detail !== undefined) notes.push(`Corral detail: ${corralRaw.detail}`);
    for (const settled of await Promise.all([this.zk.settle(), this.corral.settle()])) {
      if (settled !== null) notes.push(settled);
    }
    notes.push(...this.zk.takeProblems(), ...this.corral.takeProblems());
    const deleted = op.op === 'close' ? [...this.ephemerals].filter(([, s]) => s === op.s).map(([p]) => p) : [];
    const zkEvents: string[] = [];
    const corralEvents: string[] = [];
    const zkLists: WatchEvent[][] = [];
    const corralLists: WatchEvent[][] = [];
    for (let s = 0; s < this.slots; s++) {
      const z = this.zk.takeEvents(s);
      const c = this.corral.takeEvents(s);
      zkLists.push(z);
      corralLists.push(c);
      if (z.length > 0 || c.length > 0) {
        zkEvents.push(`s${s} ${fmtEvents(z)}`);
        corralEvents.push(`s${s} ${fmtEvents(c)}`);
      }
      if (op.op !== 'close') {
        if (show(z) !== show(c)) notes.push(`s${s}: events differ`);
      } else if (!sameMultiset(z, c)) {
        notes.push(`s${s}: events of the close differ (compared as a multiset)`);
      }
    }
    if (op.op === 'close') {
      const zkProblem = closeOrderProblem('ZooKeeper (oracle assumption)', zkLists, deleted);
      const corralProblem = closeOrderProblem('Corral', corralLists, deleted);
      for (const problem of [zkProblem, corralProblem]) if (problem !== null) notes.push(problem);
    }
    this.apply(op, zkOut, deleted);
    this.history.push(`#${index} ${brief(op)} → ${brief(zkOut)}${zkEvents.length > 0 ? ` events ${zkEvents.join(' ')}` : ''}`);
    if (notes.length === 0) return null;
    return {
      seed: this.seed, opIndex: index, op, zk: zkOut, corral: corralOut, zkEvents, corralEvents,
      note: notes.join('; '), history: [...this.history],
    };
  }

  private apply(op: SessionOp, out: SessionOutcome, deleted: readonly string[]): void {
    if (!out.ok) return;
    if (op.op === 'create' && isEphemeral(op.mode) && out.path !== undefined) this.ephemerals.set(out.path, op.s);
    if (op.op === 'delete') this.ephemerals.delete(op.path);
    if (op.op === 'close') for (const p of deleted) this.ephemerals.delete(p);
  }
}

export function formatSessionMismatch(m: SessionMismatch, historyLines = 25, file = 'test/oracle/sessions.e2e.test.ts'): string {
  const replay = typeof m.seed === 'number'
    ? `  replay: SESSIONS_SEED=${m.seed} SESSIONS_RUNS=1 SESSIONS_OPS=${m.opIndex} npx vitest run ${file}\n` : '';
  return [
    `${typeof m.seed === 'number' ? `seed ${m.seed}` : m.seed}, op #${m.opIndex}: ${brief(m.op)}`,
    `  ZooKeeper: ${brief(m.zk)}`,
    `  Corral:    ${brief(m.corral)}`,
    `  ZooKeeper events: ${m.zkEvents.join(' ') || '(none)'}`,
    `  Corral events:    ${m.corralEvents.join(' ') || '(none)'}`,
    `  note: ${m.note}`,
    replay + `  ops up to here (last ${historyLines}):`,
    ...m.history.slice(-historyLines).map((h) => `    ${h}`),
  ].join('\n');
}

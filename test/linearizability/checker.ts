/**
 * A linearizability checker in the style of porcupine: the Wing & Gong search with Lowe's
 * memoization (WGL). The history's call and return events, sorted by time, form a doubly linked
 * list; the search repeatedly linearizes a pending operation whose call precedes the first
 * remaining return event (lifting its call and return out of the list and pushing it on a
 * stack), and backtracks when it reaches a return event whose operation could not be placed.
 * A cache of (set of linearized operations, model state) prunes configurations already
 * explored: from the same set and state the rest of the search is the same.
 *
 * The history is partitioned by `model.partition` (znodes: by path) and each partition is
 * checked separately: linearizability is local (Herlihy & Wing's P-compositionality).
 *
 * Operations whose outcome is unknown (connection error, timeout) have `return: Infinity` and
 * an unconstrained output (porcupine's approach): they may take effect anywhere after their
 * call, or never: the search succeeds once only such operations are left unplaced. Read-only
 * ones are dropped (they constrain nothing).
 *
 * Cost: the search is fast when few operations overlap (a few clients), but exponential in the
 * number of operations pending at once, and operations of unknown outcome stay pending from
 * their call on: proving a history with many of them on one partition NOT linearizable may
 * exhaust the budget (`ok: 'unknown'`).
 */
import type { Model } from './model.ts';

export interface Operation<I, O> {
  readonly clientId: number | string;
  readonly input: I;
  /** When the client sent the request. */
  readonly call: number;
  /** When the client received the reply; Infinity when the outcome is unknown. */
  readonly return: number;
  /** What the client observed; unconstrained (e.g. `{ ok: 'unknown' }`) when it never learned. */
  readonly output: O;
}

export interface CheckOptions {
  /** Wall-clock bound on the whole check (default 10 s); exceeded → `ok: 'unknown'`. */
  readonly timeoutMs?: number;
  /** Bound on the memoized configurations of one partition (default 2,000,000). */
  readonly maxStates?: number;
}

/** An operation of the history: `index` is its position in the history passed in. */
export interface OperationRef<I, O> {
  readonly index: number;
  readonly operation: Operation<I, O>;
  readonly description: string;
}

export interface PlacedOperation<I, O> extends OperationRef<I, O> {
  /** The model state after it, described. */
  readonly stateAfter: string;
}

export interface UnplacedOperation<I, O> extends OperationRef<I, O> {
  readonly reason: string;
}

export interface PartitionFailure<I, O> {
  readonly partition: string;
  readonly operations: number;
  /** A longest sequence of operations the search could linearize, in linearization order. */
  readonly longestPrefix: readonly PlacedOperation<I, O>[];
  /** After that prefix: the operations that could have come next, none of which leads anywhere. */
  readonly unplaced: readonly UnplacedOperation<I, O>[];
  readonly message: string;
}

export interface CheckStats {
  readonly partitions: number;
  readonly operations: number;
  /** Memoized configurations, summed over partitions. */
  readonly states: number;
  readonly elapsedMs: number;
}

export type CheckResult<I, O> =
  | { readonly ok: true; readonly stats: CheckStats }
  | ({
      readonly ok: false;
      /** Every partition found not linearizable; the fields above it repeat the first. */
      readonly failures: readonly PartitionFailure<I, O>[];
      readonly stats: CheckStats;
    } & PartitionFailure<I, O>)
  | { readonly ok: 'unknown'; readonly reason: 'timeout' | 'maxStates'; readonly partition: string; readonly stats: CheckStats };

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_STATES = 2_000_000;
/** The deadline is checked once per this many search iterations (a power of two). */
const CLOCK_EVERY = 1024;
const PREFIX_LINES_MAX = 25;

/** A call or return event in a time-ordered list; `id` is the operation's index in its partition. */
interface Entry {
  readonly id: number;
  readonly time: number;
  readonly isCall: boolean;
  /** A call's return event (null for returns). */
  match: Entry | null;
  prev: Entry | null;
  next: Entry | null;
}

function entry(id: number, time: number, isCall: boolean, match: Entry | null = null): Entry {
  return { id, time, isCall, match, prev: null, next: null };
}

/** Links `events` after a new head entry and returns the head. */
function link(events: readonly Entry[]): Entry {
  const head = entry(-1, -Infinity, false);
  let last = head;
  for (const event of events) {
    last.next = event;
    event.prev = last;
    last = event;
  }
  return head;
}

/**
 * The operations' call and return events sorted by time, after a head entry. Calls come first on
 * ties (operations that touch overlap); returns at Infinity (unknown outcome) come last.
 */
function buildList(ops: readonly Operation<unknown, unknown>[]): Entry {
  const events: Entry[] = [];
  ops.forEach((op, id) => {
    const ret = entry(id, op.return, false);
    events.push(entry(id, op.call, true, ret), ret);
  });
  const byTime = (a: Entry, b: Entry): number => (a.time === b.time ? 0 : a.time < b.time ? -1 : 1);
  events.sort((a, b) => byTime(a, b) || (a.isCall === b.isCall ? a.id - b.id : a.isCall ? -1 : 1));
  return link(events);
}

/** Removes a call and its return from the list (a call is always followed by its return). */
function lift(call: Entry): void {
  call.prev!.next = call.next;
  call.next!.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

/** Puts back what `lift(call)` removed (in reverse order). */
function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  call.prev!.next = call;
  call.next!.prev = call;
}

/**
 * The set of linearized operations. Operations are numbered in call order, so the set is mostly
 * a prefix: its key is the length of the full prefix and the words from there to the last set
 * bit, which keeps keys short (the window of overlapping operations) in long histories.
 */
class Bitset {
  private readonly words: Uint16Array;
  /** The first operation not in the set. */
  private low = 0;
  /** At least the index of the last nonzero word (-1: none). */
  private high = -1;

  constructor(private readonly size: number) {
    this.words = new Uint16Array(Math.max(1, Math.ceil(size / 16)));
  }

  private has(i: number): boolean {
    return (this.words[i >> 4]! & (1 << (i & 15))) !== 0;
  }

  set(i: number): void {
    this.words[i >> 4]! |= 1 << (i & 15);
    this.high = Math.max(this.high, i >> 4);
    while (this.low < this.size && this.has(this.low)) this.low++;
  }

  clear(i: number): void {
    this.words[i >> 4]! &= ~(1 << (i & 15));
    this.low = Math.min(this.low, i);
  }

  /** A canonical string for the set. */
  key(): string {
    while (this.high >= 0 && this.words[this.high] === 0) this.high--;
    let key = `${this.low}:`;
    const chunk = 8192;
    for (let i = this.low >> 4; i <= this.high; i += chunk) {
      key += String.fromCharCode(...this.words.subarray(i, Math.min(i + chunk, this.high + 1)));
    }
    return key;
  }
}

/**
 * Linearized operations of known outcome (ids below `known`) and of unknown outcome, as two sets:
 * one left pending long (unknown outcome, never seen) does not lengthen the other's keys.
 */
class Linearized {
  private readonly first: Bitset;
  private readonly second: Bitset;

  constructor(
    private readonly known: number,
    size: number,
  ) {
    this.first = new Bitset(known);
    this.second = new Bitset(size - known);
  }

  set(id: number): void {
    if (id < this.known) this.first.set(id);
    else this.second.set(id - this.known);
  }

  clear(id: number): void {
    if (id < this.known) this.first.clear(id);
    else this.second.clear(id - this.known);
  }

  key(): string {
    return `${this.first.key()}|${this.second.key()}`;
  }
}

/**
 * The longest stack of linearized operations seen, kept without copying the whole stack on
 * every push: `shared` is how many of its leading ids the current stack still has.
 */
class LongestStack {
  readonly ids: number[] = [];
  private shared = 0;

  pushed(stack: readonly { entry: Entry }[]): void {
    if (stack.length <= this.ids.length) {
      if (this.shared === stack.length - 1 && this.ids[this.shared] === stack[this.shared]!.entry.id) this.shared++;
      return;
    }
    this.ids.length = this.shared;
    for (let i = this.shared; i < stack.length; i++) this.ids.push(stack[i]!.entry.id);
    this.shared = stack.length;
  }

  popped(depth: number): void {
    this.shared = Math.min(this.shared, depth);
  }
}

type SearchOutcome =
  | { readonly kind: 'ok'; readonly states: number }
  | { readonly kind: 'fail'; readonly states: number; readonly longest: readonly number[] }
  | { readonly kind: 'unknown'; readonly states: number; readonly reason: 'timeout' | 'maxStates' };

interface Budget {
  readonly deadline: number;
  readonly maxStates: number;
}

/** Where the search is: the model state, and the next candidate to try. */
interface Cursor<S> {
  readonly state: S;
  entry: Entry | null;
}

/**
 * WGL on one partition's operations: those of known outcome first, each group in call order
 * (ids are indexes in `ops`). The candidates at each configuration are the calls before
 * the first return event left in the list; placing one lifts its events, pushes the cursor and
 * starts over from the head; reaching a return event backtracks (its operation could not be
 * placed before it). Operations of unknown outcome stay pending until placed, and since they
 * may never take effect, the search succeeds as soon as only such operations remain.
 */
class Search<S, I, O> {
  private readonly head: Entry;
  private readonly stateKey: (state: S) => string;
  private readonly linearized: Linearized;
  private readonly cache = new Set<string>();
  private readonly stack: (Cursor<S> & { readonly entry: Entry })[] = [];
  readonly longest = new LongestStack();
  private cursor: Cursor<S>;
  /** Operations of known outcome not yet placed. */
  private pending: number;

  constructor(
    private readonly ops: readonly Operation<I, O>[],
    private readonly model: Model<S, I, O>,
    init: S,
  ) {
    this.head = buildList(ops);
    this.stateKey = model.stateKey ?? ((s: S) => JSON.stringify(s));
    this.pending = ops.filter((op) => op.return !== Infinity).length;
    this.linearized = new Linearized(this.pending, ops.length);
    this.cursor = { state: init, entry: this.head.next };
  }

  get states(): number {
    return this.cache.size;
  }

  run(budget: Budget): SearchOutcome {
    for (let iterations = 1; this.pending > 0; iterations++) {
      if ((iterations & (CLOCK_EVERY - 1)) === 0 && Date.now() > budget.deadline) return { kind: 'unknown', states: this.states, reason: 'timeout' };
      const entry = this.cursor.entry;
      if (entry === null) throw new Error('linearizability search ran off the event list');
      if (entry.isCall) {
        if (!this.place(entry)) this.cursor.entry = entry.next;
        else if (this.states > budget.maxStates) return { kind: 'unknown', states: this.states, reason: 'maxStates' };
      } else if (!this.backtrack()) {
        return { kind: 'fail', states: this.states, longest: this.longest.ids };
      }
    }
    return { kind: 'ok', states: this.states };
  }

  /** Linearizes the operation of `call` next if the model allows it and the configuration is new. */
  private place(call: Entry): boolean {
    const op = this.ops[call.id]!;
    const result = this.model.step(this.cursor.state, op.input, op.output);
    if (!result.ok) return false;
    this.linearized.set(call.id);
    const configuration = `${this.linearized.key()}\u0000${this.stateKey(result.next)}`;
    if (this.cache.has(configuration)) {
      this.linearized.clear(call.id);
      return false;
    }
    this.cache.add(configuration);
    this.stack.push({ state: this.cursor.state, entry: call });
    this.longest.pushed(this.stack);
    lift(call);
    if (op.return !== Infinity) this.pending--;
    this.cursor = { state: result.next, entry: this.head.next };
    return true;
  }

  /** Undoes the last placement and moves to the candidate after it; false if there is none to undo. */
  private backtrack(): boolean {
    const top = this.stack.pop();
    if (top === undefined) return false;
    this.longest.popped(this.stack.length);
    unlift(top.entry);
    this.linearized.clear(top.entry.id);
    if (this.ops[top.entry.id]!.return !== Infinity) this.pending++;
    this.cursor = { state: top.state, entry: top.entry.next };
    return true;
  }
}

function formatTime(t: number): string {
  return t === Infinity ? '∞' : String(t);
}

function describeOp<I, O>(model: Model<unknown, I, O>, op: Operation<I, O>): string {
  const what = model.describeOperation?.(op.input, op.output) ?? `${JSON.stringify(op.input)} → ${JSON.stringify(op.output)}`;
  return `client ${op.clientId} [${formatTime(op.call)}, ${formatTime(op.return)}] ${what}`;
}

/** Groups the history's indexes by partition, dropping read-only operations of unknown outcome. */
function partitionHistory<S, I, O>(history: readonly Operation<I, O>[], model: Model<S, I, O>): Map<string, number[]> {
  const partitions = new Map<string, number[]>();
  history.forEach((op, index) => {
    if (!(op.call <= op.return) || !Number.isFinite(op.call)) {
      throw new RangeError(`history[${index}]: call ${op.call} must be finite and ≤ return ${op.return}`);
    }
    if (op.return === Infinity && model.isReadOnly?.(op.input) === true) return;
    const key = model.partition?.(op.input) ?? '';
    const indexes = partitions.get(key) ?? [];
    indexes.push(index);
    partitions.set(key, indexes);
  });
  return partitions;
}

interface PartitionView<S, I, O> {
  readonly key: string;
  readonly history: readonly Operation<I, O>[];
  /** History index of each partition operation. */
  readonly indexes: readonly number[];
  readonly model: Model<S, I, O>;
  readonly init: S;
}

/** Replays the longest prefix found and says why none of the operations that could come next fits. */
function explain<S, I, O>(view: PartitionView<S, I, O>, longest: readonly number[]): PartitionFailure<I, O> {
  const { model, history, indexes } = view;
  const describeState = model.describeState ?? ((s: S) => JSON.stringify(s));
  const ref = (id: number): OperationRef<I, O> => {
    const operation = history[indexes[id]!]!;
    return { index: indexes[id]!, operation, description: describeOp(model, operation) };
  };
  let state = view.init;
  const longestPrefix = longest.map((id) => {
    const r = ref(id);
    state = model.step(state, r.operation.input, r.operation.output).next;
    return { ...r, stateAfter: describeState(state) };
  });
  const placed = new Set(longest);
  const rest = indexes.map((_, id) => id).filter((id) => !placed.has(id));
  const firstReturn = rest.reduce((min, id) => Math.min(min, history[indexes[id]!]!.return), Infinity);
  const shown = describeState(state);
  const unplaced = rest
    .filter((id) => history[indexes[id]!]!.call <= firstReturn)
    .map((id) => {
      const r = ref(id);
      const fits = model.step(state, r.operation.input, r.operation.output).ok;
      const reason = fits ? `fits state ${shown}, but no linearization of the rest follows` : `inconsistent with state ${shown}`;
      return { ...r, reason };
    });
  const message = failureMessage(view.key, indexes.length, longestPrefix, unplaced, shown);
  return { partition: view.key, operations: indexes.length, longestPrefix, unplaced, message };
}

function failureMessage(
  partition: string,
  operations: number,
  prefix: readonly PlacedOperation<unknown, unknown>[],
  unplaced: readonly UnplacedOperation<unknown, unknown>[],
  state: string,
): string {
  const lines = [`partition ${JSON.stringify(partition)}: not linearizable (${operations} operations)`];
  lines.push(`longest linearizable prefix: ${prefix.length} of ${operations} operations`);
  const skipped = Math.max(0, prefix.length - PREFIX_LINES_MAX);
  if (skipped > 0) lines.push(`  … ${skipped} earlier operations`);
  for (const p of prefix.slice(skipped)) lines.push(`  #${p.index} ${p.description}  ⇒ ${p.stateAfter}`);
  lines.push(`then, in state ${state}, no operation can be placed:`);
  for (const u of unplaced) lines.push(`  #${u.index} ${u.description}: ${u.reason}`);
  return lines.join('\n');
}

/**
 * Whether `history` is linearizable with respect to `model`. Throws RangeError on a malformed
 * history (call not finite or after return). `ok: false` explains the first partition that is
 * not (and lists every one in `failures`); `ok: 'unknown'` when the work bound was hit first.
 */
export function checkLinearizable<S, I, O>(
  history: readonly Operation<I, O>[],
  model: Model<S, I, O>,
  options: CheckOptions = {},
): CheckResult<I, O> {
  const started = Date.now();
  const budget = { deadline: started + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS), maxStates: options.maxStates ?? DEFAULT_MAX_STATES };
  const partitions = partitionHistory(history, model);
  const failures: PartitionFailure<I, O>[] = [];
  let unknown: { reason: 'timeout' | 'maxStates'; partition: string } | undefined;
  let states = 0;
  let operations = 0;
  for (const [key, unordered] of partitions) {
    const unknownLast = (i: number): number => (history[i]!.return === Infinity ? 1 : 0);
    const indexes = unordered.sort((a, b) => unknownLast(a) - unknownLast(b) || history[a]!.call - history[b]!.call || a - b);
    const view: PartitionView<S, I, O> = { key, history, indexes, model, init: model.init(key) };
    const outcome = new Search(
      indexes.map((i) => history[i]!),
      model,
      view.init,
    ).run(budget);
    states += outcome.states;
    operations += indexes.length;
    if (outcome.kind === 'fail') failures.push(explain(view, outcome.longest));
    if (outcome.kind === 'unknown') unknown ??= { reason: outcome.reason, partition: key };
  }
  const stats = { partitions: partitions.size, operations, states, elapsedMs: Date.now() - started };
  if (failures.length > 0) return { ok: false, ...failures[0]!, failures, stats };
  if (unknown !== undefined) return { ok: 'unknown', ...unknown, stats };
  return { ok: true, stats };
}

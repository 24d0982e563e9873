// Specification tests of the WGL linearizability checker and the znode model.
// Randomized tests: reproduce a failure with FC_SEED=<seed printed below>; FC_NUM_RUNS overrides
// the run count.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizable, type Operation } from './checker.ts';
import { ABSENT, present, znodeModel, znodeStep, type ZnodeInput, type ZnodeOutput, type ZnodeState } from './model.ts';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Date.now() % 2_147_483_647;
const SCALE_SEED = 20_261_206;
const NUM_RUNS = Math.min(Number(process.env.FC_NUM_RUNS ?? 150), 2000);
console.log(`linearizability checker tests: FC_SEED=${SEED} numRuns=${NUM_RUNS}`);
const params = { seed: SEED, numRuns: NUM_RUNS };
/**
 * The search's work is bounded by memoized states, not by the clock: a loaded machine must not
 * turn a verdict into `unknown`.
 */
const UNTIMED = { timeoutMs: Number.POSITIVE_INFINITY } as const;

type Op = Operation<ZnodeInput, ZnodeOutput>;

const model = znodeModel();
/** Histories whose /a starts as "init"@v0. */
const createdModel = znodeModel({ initial: () => present('init', 0) });
const A = '/a';

const read = (path = A): ZnodeInput => ({ op: 'read', path });
const write = (data: string, path = A): ZnodeInput => ({ op: 'write', path, data });
const cas = (data: string, version: number, path = A): ZnodeInput => ({ op: 'cas', path, data, version });
const create = (data: string, path = A): ZnodeInput => ({ op: 'create', path, data });
const del = (version = -1, path = A): ZnodeInput => ({ op: 'delete', path, version });

const seen = (data: string, version: number): ZnodeOutput => ({ ok: true, exists: true, data, version });
const absent: ZnodeOutput = { ok: true, exists: false };
const okv = (version: number): ZnodeOutput => ({ ok: true, version });
const ok: ZnodeOutput = { ok: true };
const err = (code: 'BADVERSION' | 'NONODE' | 'NODEEXISTS'): ZnodeOutput => ({ ok: false, code });
const unknown: ZnodeOutput = { ok: 'unknown' };

function op(clientId: number, call: number, ret: number, input: ZnodeInput, output: ZnodeOutput): Op {
  return { clientId, input, call, return: ret, output };
}

/** A timed-out operation: outcome unknown, may apply any time after `call`, or never. */
const timedOut = (clientId: number, call: number, input: ZnodeInput): Op => op(clientId, call, Infinity, input, unknown);

describe('znode model', () => {
  it('follows ZooKeeper versions: create 0, setData +1, recreate 0', () => {
    let s = ABSENT;
    const steps: [ZnodeInput, ZnodeOutput][] = [
      [create('a'), okv(0)],
      [write('b'), okv(1)],
      [cas('c', 1), okv(2)],
      [cas('d', 1), err('BADVERSION')],
      [read(), seen('c', 2)],
      [del(1), err('BADVERSION')],
      [del(2), ok],
      [del(), err('NONODE')],
      [write('e'), err('NONODE')],
      [read(), absent],
      [read(), err('NONODE')],
      [create('f'), ok],
      [create('g'), err('NODEEXISTS')],
      [read(), seen('f', 0)],
    ];
    for (const [input, output] of steps) {
      const r = znodeStep(s, input, output);
      expect(r.ok, `${JSON.stringify(input)} → ${JSON.stringify(output)} in ${JSON.stringify(s)}`).toBe(true);
      s = r.next;
    }
  });

  it('rejects outputs that differ from the reply, and accepts any output when unknown', () => {
    const s = present('x', 3);
    expect(znodeStep(s, read(), seen('x', 2)).ok).toBe(false);
    expect(znodeStep(s, read(), absent).ok).toBe(false);
    expect(znodeStep(s, write('y'), okv(3)).ok).toBe(false);
    expect(znodeStep(s, cas('y', 3), err('BADVERSION')).ok).toBe(false);
    expect(znodeStep(s, create('y'), ok).ok).toBe(false);
    expect(znodeStep(s, cas('y', 3), unknown)).toEqual({ ok: true, next: present('y', 4) });
    expect(znodeStep(s, cas('y', 2), unknown)).toEqual({ ok: true, next: s });
  });
});

describe('checkLinearizable: linearizable histories', () => {
  it('accepts sequential histories', () => {
    const history = [
      op(0, 0, 1, read(), absent),
      op(1, 2, 3, create('a'), okv(0)),
      op(0, 4, 5, write('b'), okv(1)),
      op(2, 6, 7, cas('c', 1), okv(2)),
      op(1, 8, 9, cas('d', 1), err('BADVERSION')),
      op(0, 10, 11, read(), seen('c', 2)),
      op(2, 12, 13, del(2), ok),
      op(1, 14, 15, create('e'), okv(0)),
      op(0, 16, 17, read(), seen('e', 0)),
    ];
    expect(checkLinearizable(history, model)).toMatchObject({ ok: true });
    expect(checkLinearizable([], model)).toMatchObject({ ok: true });
  });

  it('accepts concurrent overlapping writes and reads in valid orders', () => {
    const history = [
      // Two overlapping writes; the versions say w2 took effect first.
      op(0, 0, 10, write('w1'), okv(2)),
      op(1, 5, 15, write('w2'), okv(1)),
      // Reads overlapping both may see the intermediate or the final value.
      op(2, 1, 20, read(), seen('w2', 1)),
      op(3, 2, 20, read(), seen('w1', 2)),
      // A read after both returned sees the last.
      op(2, 21, 22, read(), seen('w1', 2)),
      // A read overlapping a write sees the old value, a later one the new.
      op(0, 30, 40, cas('w3', 2), okv(3)),
      op(1, 31, 32, read(), seen('w1', 2)),
      op(1, 33, 34, read(), seen('w3', 3)),
      op(3, 35, 45, read(), seen('w3', 3)),
    ];
    expect(checkLinearizable(history, createdModel)).toMatchObject({ ok: true });
  });

  it('accepts operations that touch at the same instant as concurrent', () => {
    // The read's call and the write's return share a timestamp: either order is allowed.
    const history = [op(0, 0, 10, write('x'), okv(1)), op(1, 10, 12, read(), seen('init', 0))];
    expect(checkLinearizable(history, createdModel)).toMatchObject({ ok: true });
  });
});

describe('checkLinearizable: violations', () => {
  it('rejects a stale read after a newer acknowledged write', () => {
    const history = [op(0, 0, 10, write('v1'), okv(1)), op(1, 11, 20, read(), seen('init', 0))];
    const result = checkLinearizable(history, createdModel);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.partition).toBe(A);
    expect(result.longestPrefix.map((p) => p.index)).toEqual([0]);
    expect(result.unplaced).toMatchObject([{ index: 1, reason: expect.stringContaining('inconsistent') }]);
    expect(result.message).toContain('read(/a) → ok "init" v0');
  });

  it('rejects a lost acknowledged write', () => {
    const history = [
      op(0, 10, 20, write('a'), okv(1)),
      // A cas from the version before the acknowledged write cannot succeed after it.
      op(1, 30, 40, cas('b', 0), okv(1)),
      op(2, 50, 60, read(), seen('b', 1)),
    ];
    expect(checkLinearizable(history, createdModel).ok).toBe(false);
    const overwritten = [op(0, 10, 20, write('a'), okv(1)), op(2, 50, 60, read(), seen('init', 0))];
    expect(checkLinearizable(overwritten, createdModel).ok).toBe(false);
  });

  it('rejects two successful cas from the same version', () => {
    const history = [op(0, 0, 10, cas('x', 0), okv(1)), op(1, 2, 12, cas('y', 0), okv(1))];
    expect(checkLinearizable(history, createdModel).ok).toBe(false);
    // One of them failing is fine.
    const fine = [op(0, 0, 10, cas('x', 0), okv(1)), op(1, 2, 12, cas('y', 0), err('BADVERSION'))];
    expect(checkLinearizable(fine, createdModel).ok).toBe(true);
  });

  it('rejects two successful concurrent creates', () => {
    const history = [op(0, 0, 10, create('x'), ok), op(1, 2, 12, create('y'), ok)];
    expect(checkLinearizable(history, model).ok).toBe(false);
  });
});

describe('checkLinearizable: operations of unknown outcome', () => {
  it('accepts a timed-out write whose effect is seen later', () => {
    const history = [
      timedOut(0, 10, write('x')),
      op(1, 20, 30, read(), seen('init', 0)),
      op(1, 40, 50, read(), seen('x', 1)),
      op(2, 60, 70, cas('y', 1), okv(2)),
    ];
    expect(checkLinearizable(history, createdModel)).toMatchObject({ ok: true });
  });

  it('accepts a timed-out write never seen', () => {
    const history = [timedOut(0, 10, write('x')), op(1, 20, 30, read(), seen('init', 0)), op(1, 1000, 1001, read(), seen('init', 0))];
    expect(checkLinearizable(history, createdModel)).toMatchObject({ ok: true });
  });

  it('rejects a timed-out write seen before it was sent, or seen then unseen', () => {
    const early = [op(1, 0, 5, read(), seen('x', 1)), timedOut(0, 10, write('x'))];
    expect(checkLinearizable(early, createdModel).ok).toBe(false);
    const flicker = [timedOut(0, 0, write('x')), op(1, 10, 20, read(), seen('x', 1)), op(1, 30, 40, read(), seen('init', 0))];
    expect(checkLinearizable(flicker, createdModel).ok).toBe(false);
  });

  it('rejects a read observing a value no write produced, whatever the timed-out writes did', () => {
    const history = [op(0, 0, 10, write('a'), okv(1)), op(1, 5, 15, read(), seen('ghost', 1)), timedOut(2, 0, write('b'))];
    const result = checkLinearizable(history, createdModel);
    expect(result.ok).toBe(false);
    if (result.ok === false) expect(result.message).toContain('"ghost"');
  });
});

describe('checkLinearizable: partitions, explanations and bounds', () => {
  it('partitions by path and reports the path of a violation', () => {
    const history = [
      op(0, 0, 10, create('a', '/x'), ok),
      op(1, 0, 10, create('b', '/y'), ok),
      op(0, 11, 20, read('/x'), seen('a', 0)),
      op(1, 11, 20, read('/y'), seen('b', 0)),
      op(2, 21, 30, write('c', '/y'), okv(1)),
      op(2, 31, 40, read('/y'), seen('b', 0)), // stale
      op(0, 31, 40, read('/x'), seen('a', 0)),
    ];
    const result = checkLinearizable(history, model);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.partition).toBe('/y');
    expect(result.failures.map((f) => f.partition)).toEqual(['/y']);
    expect(result.message).toContain('"/y"');
    expect(result.unplaced.map((u) => u.index)).toEqual([5]);
    expect(result.stats).toMatchObject({ partitions: 2, operations: 7 });
  });

  it('gives up with unknown when the work bound is reached', () => {
    // Many timed-out writes and an impossible read: every subset and order is explored.
    const history = [
      ...Array.from({ length: 40 }, (_, i) => timedOut(i, 0, write(`w${i}`))),
      op(99, 10, 20, read(), seen('ghost', 7)),
    ];
    // Without the deadline the search would stop at the default 2,000,000 states, reason maxStates.
    expect(checkLinearizable(history, createdModel, { timeoutMs: 50 })).toMatchObject({ ok: 'unknown', reason: 'timeout', partition: A });
    expect(checkLinearizable(history, createdModel, { maxStates: 100 })).toMatchObject({ ok: 'unknown', reason: 'maxStates' });
  });

  it('rejects malformed histories', () => {
    expect(() => checkLinearizable([op(0, 10, 5, read(), absent)], model)).toThrow(RangeError);
    expect(() => checkLinearizable([op(0, Infinity, Infinity, read(), absent)], model)).toThrow(RangeError);
  });
});

// ---- Histories recorded from an in-memory register under a simulated clock --------------------

/** An in-memory ZooKeeper-like store of znodes, written independently of the model. */
class Register {
  private readonly nodes = new Map<string, { data: string; version: number }>();

  exec(input: ZnodeInput): ZnodeOutput {
    const node = this.nodes.get(input.path);
    if (input.op === 'create') {
      if (node !== undefined) return err('NODEEXISTS');
      this.nodes.set(input.path, { data: input.data, version: 0 });
      return okv(0);
    }
    if (node === undefined) return input.op === 'read' ? absent : err('NONODE');
    if (input.op === 'read') return seen(node.data, node.version);
    const expected = input.op === 'write' ? -1 : input.version;
    if (expected !== -1 && expected !== node.version) return err('BADVERSION');
    if (input.op === 'delete') {
      this.nodes.delete(input.path);
      return ok;
    }
    node.data = input.data;
    node.version += 1;
    return okv(node.version);
  }
}

type Fate = 'ok' | 'timeout-applied' | 'timeout-late' | 'timeout-lost';

interface OpSpec {
  readonly path: number;
  readonly kind: ZnodeInput['op'];
  /** Offset from the last version this client saw, for cas and delete; null: -1 (any). */
  readonly versionDelta: number | null;
  /** Request latency (call → applied), reply latency (applied → return), think time. */
  readonly d1: number;
  readonly d2: number;
  readonly gap: number;
  readonly fate: Fate;
  /** How long after the client gave up a late timed-out request applies. */
  readonly lateBy: number;
}

const PATHS = ['/a', '/b', '/c'];

/** Operations of a client; one in `1 + okWeight` times out. */
const opSpecWith = (okWeight: number): fc.Arbitrary<OpSpec> => fc.record({
  path: fc.nat({ max: PATHS.length - 1 }),
  kind: fc.constantFrom<ZnodeInput['op']>('read', 'read', 'read', 'write', 'cas', 'cas', 'create', 'delete'),
  versionDelta: fc.constantFrom(0, 0, 0, 1, -1, null),
  d1: fc.integer({ min: 1, max: 10 }),
  d2: fc.integer({ min: 1, max: 10 }),
  gap: fc.integer({ min: 0, max: 5 }),
  fate: fc.oneof(
    { arbitrary: fc.constant<Fate>('ok'), weight: okWeight },
    { arbitrary: fc.constantFrom<Fate>('timeout-applied', 'timeout-late', 'timeout-lost'), weight: 1 },
  ),
  lateBy: fc.integer({ min: 1, max: 40 }),
});
const opSpec = opSpecWith(30);

interface Schedule {
  readonly paths: number;
  readonly clients: readonly (readonly OpSpec[])[];
}

const schedule = (maxClients: number, maxOps: number): fc.Arbitrary<Schedule> =>
  fc.record({
    paths: fc.integer({ min: 1, max: PATHS.length }),
    clients: fc.array(fc.array(opSpec, { maxLength: maxOps }), { minLength: 1, maxLength: maxClients }),
  });

function makeInput(spec: OpSpec, path: string, data: string, lastSeen: number | undefined): ZnodeInput {
  const version = spec.versionDelta === null ? -1 : Math.max(0, (lastSeen ?? 0) + spec.versionDelta);
  switch (spec.kind) {
    case 'read':
      return read(path);
    case 'write':
    case 'create':
      return { op: spec.kind, path, data };
    case 'cas':
      return cas(data, version === -1 ? 0 : version, path);
    case 'delete':
      return del(version, path);
  }
}

/** The version a reply tells the client about. */
function versionOf(output: ZnodeOutput): number | undefined {
  return output.ok === true ? output.version : undefined;
}

/** Runs the clients' schedules against a Register; each request applies atomically between its call and return. */
function simulate(plan: Schedule): Op[] {
  const queue: { time: number; seq: number; run: (time: number) => void }[] = [];
  let scheduled = 0;
  const at = (time: number, run: (time: number) => void): void => void queue.push({ time, seq: scheduled++, run });
  const register = new Register();
  const history: Op[] = [];
  plan.clients.forEach((specs, clientId) => {
    const lastSeen = new Map<string, number>();
    const start = (j: number, call: number): void => {
      const spec = specs[j];
      if (spec === undefined) return;
      const path = PATHS[spec.path % plan.paths]!;
      const input = makeInput(spec, path, `c${clientId}.${j}`, lastSeen.get(path));
      if (spec.fate !== 'ok') {
        history.push(timedOut(clientId, call, input));
        const gaveUp = call + spec.d1 + spec.d2;
        if (spec.fate !== 'timeout-lost') at(spec.fate === 'timeout-late' ? gaveUp + spec.lateBy : call + spec.d1, () => register.exec(input));
        at(gaveUp + spec.gap, (t) => start(j + 1, t));
        return;
      }
      at(call + spec.d1, (applied) => {
        const output = register.exec(input);
        const version = versionOf(output);
        if (version !== undefined) lastSeen.set(path, version);
        history.push(op(clientId, call, applied + spec.d2, input, output));
        at(applied + spec.d2 + spec.gap, (t) => start(j + 1, t));
      });
    };
    at(0, (t) => start(0, t));
  });
  while (queue.length > 0) {
    queue.sort((x, y) => x.time - y.time || x.seq - y.seq);
    const next = queue.shift()!;
    next.run(next.time);
  }
  return history;
}

/** Replaces the output of one completed read (chosen by `pick`) with a value never written. */
function corruptRead(history: readonly Op[], pick: number): { history: Op[]; path: string } | undefined {
  const reads = history.flatMap((o, i) => (o.input.op === 'read' && o.return !== Infinity ? [i] : []));
  if (reads.length === 0) return undefined;
  const index = reads[pick % reads.length]!;
  const target = history[index]!;
  const version = versionOf(target.output) ?? 0;
  const copy = [...history];
  copy[index] = { ...target, output: seen('never-written', version) };
  return { history: copy, path: target.input.path };
}

describe('histories of a real register', () => {
  it('are always linearizable', () => {
    fc.assert(
      fc.property(schedule(4, 15), (plan) => {
        const history = simulate(plan);
        const result = checkLinearizable(history, model, UNTIMED);
        expect(result, result.ok === false ? result.message : '').toMatchObject({ ok: true });
      }),
      params,
    );
  });

  it('are not linearizable once a read returns a value never written', () => {
    fc.assert(
      fc.property(schedule(4, 15), fc.nat(), (plan, pick) => {
        const corrupted = corruptRead(simulate(plan), pick);
        if (corrupted === undefined) return;
        const result = checkLinearizable(corrupted.history, model, UNTIMED);
        expect(result.ok).toBe(false);
        if (result.ok === false) expect(result.partition).toBe(corrupted.path);
      }),
      params,
    );
  });

  // A fixed seed: refuting a long history with ~30 operations of unknown outcome costs from a
  // thousand to several hundred thousand states depending on which read is corrupted, so random
  // seeds would make this a lottery. These three cost under 7,000 states each; the bound is work.
  it('checks 5 clients × 200 operations on 3 paths within 20,000 states each way', () => {
    const plans = fc.sample(
      fc.record({ paths: fc.constant(3), clients: fc.array(fc.array(opSpec, { minLength: 200, maxLength: 200 }), { minLength: 5, maxLength: 5 }) }),
      { seed: SCALE_SEED, numRuns: 3 },
    );
    const budget = { ...UNTIMED, maxStates: 20_000 };
    for (const plan of plans) {
      const history = simulate(plan);
      const result = checkLinearizable(history, model, budget);
      const unknowns = history.filter((o) => o.return === Infinity).length;
      console.log(`5×200 on 3 paths (${unknowns} timed out): ${JSON.stringify(result.stats)}`);
      expect(result).toMatchObject({ ok: true });
      const corrupted = corruptRead(history, SCALE_SEED)!;
      const refuted = checkLinearizable(corrupted.history, model, budget);
      console.log(`  with a corrupted read: ${JSON.stringify(refuted.stats)}`);
      expect(refuted.ok).toBe(false);
    }
  });
});

// ---- Agreement with a brute-force search on small histories ------------------------------------

/**
 * Whether some order of the operations respects real time (an operation may come next only if
 * no other operation left returned before its call) and the model, where operations of unknown
 * outcome may also be left out. One search over all paths: no partitioning, no memoization, no
 * event list; the definition, executed.
 */
function bruteForce(ops: readonly Op[], states: ReadonlyMap<string, ZnodeState> = new Map()): boolean {
  if (ops.every((o) => o.return === Infinity)) return true;
  const firstReturn = Math.min(...ops.map((o) => o.return));
  return ops.some((o, i) => {
    if (o.call > firstReturn) return false;
    const r = znodeStep(states.get(o.input.path) ?? ABSENT, o.input, o.output);
    return r.ok && bruteForce([...ops.slice(0, i), ...ops.slice(i + 1)], new Map(states).set(o.input.path, r.next));
  });
}

const anyOutput: fc.Arbitrary<ZnodeOutput> = fc.oneof(
  fc.constant(absent),
  fc.constantFrom(ok, unknown, err('BADVERSION'), err('NONODE'), err('NODEEXISTS')),
  fc.integer({ min: 0, max: 3 }).map(okv),
  fc.tuple(fc.constantFrom('c0.0', 'c0.1', 'c1.0', 'c1.1', 'c2.0'), fc.integer({ min: 0, max: 3 })).map(([d, v]) => seen(d, v)),
);

describe('agreement with brute force', () => {
  it('gives the same verdict on small histories, mutated or not', () => {
    const verdicts = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        fc.array(fc.array(opSpecWith(3), { maxLength: 3 }), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.option(anyOutput),
        (paths, clients, pick, mutation) => {
          const history = simulate({ paths, clients });
          if (mutation !== null && history.length > 0) {
            const i = pick % history.length;
            history[i] = { ...history[i]!, output: mutation };
          }
          const result = checkLinearizable(history, model);
          expect(result.ok, JSON.stringify(history)).toBe(bruteForce(history));
          verdicts[result.ok === true ? 'ok' : 'rejected']++;
        },
      ),
      { ...params, numRuns: NUM_RUNS * 4 },
    );
    console.log(`brute-force agreement: ${JSON.stringify(verdicts)}`);
  });
});

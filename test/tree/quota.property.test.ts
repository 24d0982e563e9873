// Property tests of quotas in the pure data tree: random creates, deletes, setData and multis, with
// and without enforcement, under the quota roots /a, /a/b (nested in /a) and /c, whose limits and
// stats nodes the steps themselves create, change and delete. A brute-force model predicts every
// outcome, every quota note and every stats node; a tree rebuilt from its nodes continues alike.
// Reproduce a failure with FC_SEED=<seed printed below>; FC_NUM_RUNS overrides the run count.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import { parseStatsTrack, statValue, type StatsTrack } from '../../src/core/tree/quota-stats.ts';
import { isWriteResult, type ApplyOutput, type QuotaExceeded } from '../../src/core/tree/results.ts';
import type { WriteOp } from '../../src/core/tree/txn.ts';
import { createOp, deleteOp, digest, Harness, setDataOp, TEST_SESSIONS } from './helpers.ts';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Date.now() % 2_147_483_647;
const NUM_RUNS = Math.min(Number(process.env.FC_NUM_RUNS ?? 200), 2000);
const MAX_STEPS = 40;
console.log(`quota property tests: FC_SEED=${SEED} numRuns=${NUM_RUNS}`);
const params = { seed: SEED, numRuns: NUM_RUNS };

const ROOTS = ['/a', '/a/b', '/c'];
const DIRS = ROOTS.map((root) => `/zookeeper/quota${root}`);
const DATA_PATHS = ['/a', '/a/b', '/a/b/x', '/a/b/w', '/a/y', '/a/y/z', '/a/v', '/c', '/c/d', '/c/e', '/e'];
const QUOTA_PATHS = DIRS.flatMap((dir) => [`${dir}/zookeeper_limits`, `${dir}/zookeeper_stats`]);
const LIMITS = [
  'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=-1', 'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2',
  'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3', 'count=-1,bytes=-1=;byteHardLimit=3;countHardLimit=-1',
  'count=-1,bytes=-1=;byteHardLimit=6;countHardLimit=3', 'count=2,bytes=-1', 'count=-1,bytes=4', 'count=1,bytes=2=;countHardLimit=4',
  'count=-1,bytes=-1=;byteHardLimit=5;countHardLimit=-1', 'countHardLimit',
];
const STATS = ['count=0,bytes=0', 'count=5,bytes=1'];
/** A version no node reaches within a run: the op fails with BADVERSION, after the quota check. */
const STALE = 1000;

type Op =
  | { readonly type: 'create' | 'setData'; readonly path: string; readonly data: string; readonly stale: boolean }
  | { readonly type: 'delete'; readonly path: string };
interface Step { readonly ops: readonly Op[]; readonly enforce: boolean }

const limitsRoot = (path: string) => /^\/zookeeper\/quota(\/.+)\/zookeeper_limits$/.exec(path)?.[1];
const statsRoot = (path: string) => /^\/zookeeper\/quota(\/.+)\/zookeeper_stats$/.exec(path)?.[1];
const under = (path: string, root: string) => path === root || path.startsWith(`${root}/`);

const op: fc.Arbitrary<Op> = fc.record({
  type: fc.constantFrom('create', 'create', 'setData', 'setData', 'setData', 'delete'),
  path: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...DATA_PATHS) }, { weight: 1, arbitrary: fc.constantFrom(...QUOTA_PATHS) }),
  payload: fc.nat(99),
  stale: fc.nat(9).map((n) => n === 0),
}).map(({ type, path, payload, stale }) => {
  if (type === 'delete') return { type, path };
  const data = limitsRoot(path) ? LIMITS[payload % LIMITS.length]! : statsRoot(path) ? STATS[payload % STATS.length]! : 'd'.repeat(payload % 5);
  return { type, path, data, stale: type === 'setData' && stale };
});
const step: fc.Arbitrary<Step> = fc.record({
  ops: fc.oneof({ weight: 3, arbitrary: op.map((o) => [o]) }, { weight: 1, arbitrary: fc.array(op, { minLength: 2, maxLength: 3 }) }),
  enforce: fc.boolean(),
});
/**
 * Every quota set up front, among some of the nodes, in any order (stats before or after the data,
 * limits before or after the stats), so the steps start among limits.
 */
const setup: fc.Arbitrary<Step[]> = fc.tuple(
  fc.array(fc.nat(LIMITS.length - 1), { minLength: 3, maxLength: 3 }),
  fc.subarray([['/a', 'dd'], ['/a/b', 'd'], ['/c', ''], ['/a/y', 'ddd'], ['/c/d', 'dddd']], { minLength: 3 }),
).chain(([limits, nodes]) => {
  const ops: Op[] = [
    ...nodes.map(([path, data]) => ({ path: path!, data: data! })),
    ...DIRS.map((dir, i) => ({ path: `${dir}/zookeeper_limits`, data: LIMITS[limits[i]!]! })),
    ...DIRS.map((dir) => ({ path: `${dir}/zookeeper_stats`, data: STATS[0]! })),
  ].map(({ path, data }) => ({ type: 'create', path, data, stale: false }));
  return fc.shuffledSubarray(ops, { minLength: ops.length }).map((order) => order.map((o) => ({ ops: [o], enforce: false })));
});
const steps = fc.tuple(setup, fc.array(step, { minLength: 1, maxLength: MAX_STEPS, size: 'max' })).map(([first, rest]) => [...first, ...rest]);

const toWriteOp = (o: Op): WriteOp =>
  o.type === 'delete' ? deleteOp(o.path) : o.type === 'create' ? createOp(o.path, 'persistent', o.data) : setDataOp(o.path, o.data, o.stale ? STALE : -1);

interface Stats { count: number; bytes: number }

/**
 * ZooKeeper's quota bookkeeping, by brute force. Its stats are not "the subtree's totals now": a
 * stats node is set to the real subtree's totals when it is created (the root included, nested
 * roots' subtrees too), then each create, delete or setData adds its change to the stats of the one
 * DEEPEST root above or at its path, if that root has a stats node. So an outer root stops seeing
 * changes under an inner root while the inner root exists, and no root sees changes made while it
 * had no limits node. `pure` marks the roots for which none of that happened since their stats
 * were computed: for them, and only them, the stats must equal the subtree's totals now.
 */
class Model {
  sizes = new Map<string, number>();
  texts = new Map<string, string>();
  stats = new Map<string, Stats>();
  pure = new Set<string>();

  constructor(tree?: DataTree) {
    for (const node of tree?.snapshot() ?? []) this.sizes.set(node.path, node.data.length);
  }

  clone(): Model {
    const copy = new Model();
    copy.sizes = new Map(this.sizes);
    copy.texts = new Map(this.texts);
    copy.stats = new Map([...this.stats].map(([root, s]) => [root, { ...s }]));
    copy.pure = new Set(this.pure);
    return copy;
  }

  roots(): string[] {
    return [...this.sizes.keys()].flatMap((path) => limitsRoot(path) ?? []);
  }

  deepestRoot(path: string): string | undefined {
    return this.roots().filter((root) => under(path, root)).sort((x, y) => y.length - x.length)[0];
  }

  totals(root: string): Stats {
    const paths = [...this.sizes.keys()].filter((path) => under(path, root));
    return { count: paths.length, bytes: paths.reduce((sum, path) => sum + this.sizes.get(path)!, 0) };
  }

  /** checkQuota: the limits passed by a change of `path` (count first; a refusal stops there). */
  check(path: string, bytesDiff: number, countDiff: number, enforce: boolean): QuotaExceeded[] {
    const root = this.deepestRoot(path);
    const text = root && this.texts.get(`/zookeeper/quota${root}/zookeeper_limits`);
    const limits = text === undefined ? undefined : parseStatsTrack(text);
    const current = root && this.stats.get(root);
    if (!root || !limits || !current) return [];
    const notes: QuotaExceeded[] = [];
    for (const [what, diff, value] of [['count', countDiff, current.count], ['bytes', bytesDiff, current.bytes]] as const) {
      const passed = exceeded(limits, what, value + diff);
      if (diff === 0 || !passed) continue;
      notes.push({ root, what, value: value + diff, ...passed, refused: passed.hard && enforce });
      if (passed.hard && enforce) break;
    }
    return notes;
  }

  /** One op: its error code (undefined when applied) and the notes it makes. */
  apply(o: Op, enforce: boolean): { code?: string; notes: QuotaExceeded[] } {
    const parent = o.path.slice(0, o.path.lastIndexOf('/')) || '/';
    const exists = this.sizes.has(o.path);
    if (o.type === 'create') {
      if (!this.sizes.has(parent)) return { code: 'NONODE', notes: [] };
      if (exists) return { code: 'NODEEXISTS', notes: [] };
      const notes = this.check(o.path, o.data.length, 1, enforce);
      if (notes.some((n) => n.refused)) return { code: 'QUOTAEXCEEDED', notes };
      this.sizes.set(o.path, o.data.length);
      if (limitsRoot(o.path)) this.texts.set(o.path, o.data);
      const root = statsRoot(o.path);
      if (root) this.stats.set(root, this.totals(root));
      if (root && this.roots().includes(root)) this.pure.add(root);
      this.change(o.path, o.data.length, 1);
      return { notes };
    }
    if (!exists) return { code: 'NONODE', notes: [] };
    const size = this.sizes.get(o.path)!;
    if (o.type === 'delete') {
      if ([...this.sizes.keys()].some((path) => path.startsWith(`${o.path}/`))) return { code: 'NOTEMPTY', notes: [] };
      this.sizes.delete(o.path);
      this.texts.delete(o.path);
      const root = statsRoot(o.path);
      if (root) this.stats.delete(root);
      this.change(o.path, -size, -1);
      return { notes: [] };
    }
    const notes = this.check(o.path, o.data.length - size, 0, enforce);
    if (notes.some((n) => n.refused)) return { code: 'QUOTAEXCEEDED', notes };
    if (o.stale) return { code: 'BADVERSION', notes };
    this.sizes.set(o.path, o.data.length);
    if (limitsRoot(o.path)) this.texts.set(o.path, o.data);
    const root = statsRoot(o.path);
    if (root) {
      const written = parseStatsTrack(o.data)!;
      this.stats.set(root, { count: statValue(written, 'count'), bytes: statValue(written, 'bytes') });
      this.pure.delete(root);
    }
    this.change(o.path, o.data.length - size, 0);
    return { notes };
  }

  private change(path: string, bytesDiff: number, countDiff: number): void {
    const root = this.deepestRoot(path);
    const stats = root && this.stats.get(root);
    if (stats) {
      stats.count += countDiff;
      stats.bytes += bytesDiff;
    }
    // Stats no longer the subtree's totals: a root without limits, or with a root inside it.
    const roots = this.roots();
    for (const r of this.pure) if (!roots.includes(r) || roots.some((inner) => inner !== r && under(inner, r))) this.pure.delete(r);
  }
}

function exceeded(limits: StatsTrack, what: 'count' | 'bytes', value: number): { limit: number; hard: boolean } | undefined {
  const hardLimit = statValue(limits, what === 'count' ? 'countHardLimit' : 'byteHardLimit');
  const soft = statValue(limits, what);
  if (hardLimit > -1) return value > hardLimit ? { limit: hardLimit, hard: true } : undefined;
  return soft > -1 && value > soft ? { limit: soft, hard: false } : undefined;
}

function newRun(): { h: Harness; model: Model } {
  const h = new Harness();
  for (const dir of ['/zookeeper/quota/a', '/zookeeper/quota/a/b', '/zookeeper/quota/c']) h.ok(createOp(dir));
  return { h, model: new Model(h.tree) };
}

/** Applies a step to the tree and checks its outcome and notes against the model, which it advances. */
function applyStep(h: Harness, model: Model, s: Step, outputs: ApplyOutput[] = []): Model {
  const output = h.applyTxn({ type: 'write', ops: s.ops.map(toWriteOp), multi: s.ops.length > 1, sessionId: 0, auth: [], ...(s.enforce ? { enforceQuota: true as const } : {}) });
  outputs.push(output);
  const staged = model.clone();
  const notes: QuotaExceeded[] = [];
  let failed: { failedOp: number; code: string } | undefined;
  for (let i = 0; i < s.ops.length && !failed; i++) {
    const outcome = staged.apply(s.ops[i]!, s.enforce);
    notes.push(...outcome.notes);
    if (outcome.code) failed = { failedOp: i, code: outcome.code };
  }
  const result = output.result!;
  expect(isWriteResult(result)).toBe(true);
  if (failed) expect(result).toMatchObject({ ok: false, failedOp: failed.failedOp, error: { code: failed.code } });
  else expect(result).toMatchObject({ ok: true });
  expect(output.quotaExceeded ?? []).toEqual(notes);
  return failed ? model : staged;
}

function checkStats(tree: DataTree, model: Model): void {
  expect(tree.quotaRootPaths()).toEqual(model.roots().sort());
  for (const root of ROOTS) {
    const node = tree.get(`/zookeeper/quota${root}/zookeeper_stats`);
    const expected = model.stats.get(root);
    expect(node === undefined, `stats of ${root} exist`).toBe(expected === undefined);
    if (!node || !expected) continue;
    const stats = parseStatsTrack(new TextDecoder().decode(node.data))!;
    expect({ count: statValue(stats, 'count'), bytes: statValue(stats, 'bytes') }, `stats of ${root}`).toEqual(expected);
    // From scratch, over the tree itself: the stats of a root nothing disturbed are its subtree's totals.
    if (model.pure.has(root)) {
      const subtree = tree.snapshot().filter((n) => under(n.path, root));
      expect(expected).toEqual({ count: subtree.length, bytes: subtree.reduce((sum, n) => sum + n.data.length, 0) });
    }
  }
}

describe('quota under random op sequences', () => {
  it('agrees with the model on every outcome, note and stats node after every step', () => {
    fc.assert(
      fc.property(steps, (list) => {
        let { h, model } = newRun();
        for (const s of list) {
          model = applyStep(h, model, s);
          checkStats(h.tree, model);
        }
      }),
      params,
    );
  });

  it('continues identically from a tree rebuilt from its nodes at any point', () => {
    fc.assert(
      fc.property(steps, fc.nat(MAX_STEPS), (list, at) => {
        let { h, model } = newRun();
        const cut = at % list.length;
        list.slice(0, cut + 1).forEach((s) => (model = applyStep(h, model, s)));
        const recovered = new DataTree(h.tree.snapshot(), h.tree.appliedZxid, TEST_SESSIONS);
        expect(recovered.quotaRootPaths()).toEqual(h.tree.quotaRootPaths());
        const logAt = h.log.length;
        const outputs: ApplyOutput[] = [];
        list.slice(cut + 1).forEach((s) => (model = applyStep(h, model, s, outputs)));
        expect(h.log.slice(logAt).map(({ zxid, envelope }) => recovered.apply(zxid, envelope))).toEqual(outputs);
        expect(digest(recovered)).toBe(digest(h.tree));
        checkStats(recovered, model);
      }),
      params,
    );
  });
});

// Runs the same ops against ZooKeeper and Corral, one at a time, and stops a run at its first
// difference. Containers make runs nondeterministic (both servers reap them in the background),
// so after every op the runner settles them: any container ZooKeeper may reap (had a child, has
// none) is awaited until it is gone on both sides, with a bound; one ZooKeeper has removed must be
// gone from Corral too. Every wait is a bounded poll.
import { SideNormalizer, sameOutcome, show } from './compare.ts';
import { generateOps, resolveVersions, type Op, type Outcome, type Stat, type SubResult, type VersionSpec } from './ops.ts';

export interface Driver {
  run(op: Op): Promise<Outcome>;
  stat(path: string): Promise<Stat | null>;
}

export interface Mismatch {
  seed: number | string;
  opIndex: number;
  op: Op | string;
  zk: unknown;
  corral: unknown;
  corralRaw?: Outcome;
  note: string;
  history: string[];
}

export type Step = Op<VersionSpec> | { waitGone: string };

const POLL_INTERVAL_MS = 20;
const GONE_TIMEOUT_MS = 10_000;
const SETTLE_ROUNDS_MAX = 5;

export async function pollUntil(cond: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

const waitGone = (d: Driver, path: string): Promise<boolean> =>
  pollUntil(async () => (await d.stat(path)) === null, GONE_TIMEOUT_MS);

/** Shortens long data so a printed op stays one readable line. */
export function brief(op: unknown): string {
  return show(op).replace(/"data":"([^"]{24})[^"]+"/g, '"data":"$1…"');
}

function createdContainers(op: Op, out: Outcome): string[] {
  if (!out.ok) return [];
  if (op.op === 'create') return op.mode === 'container' && out.path !== undefined ? [out.path] : [];
  if (op.op !== 'multi') return [];
  return op.ops.flatMap((sub, i) => {
    const r = out.results?.[i];
    return sub.op === 'create' && sub.mode === 'container' && r !== undefined && 'path' in r ? [r.path] : [];
  });
}

/** Waits out container reaping; returns a description of a difference, or null. */
async function settleContainers(zk: Driver, corral: Driver, containers: Set<string>): Promise<string | null> {
  for (let round = 0; round < SETTLE_ROUNDS_MAX; round++) {
    let changed = false;
    for (const path of [...containers]) {
      const stat = await zk.stat(path);
      if (stat !== null && !(stat.cversion > 0 && stat.numChildren === 0)) continue;
      if (stat !== null && !(await waitGone(zk, path))) {
        throw new Error(`ZooKeeper did not reap empty container ${path} within ${GONE_TIMEOUT_MS} ms`);
      }
      if (!(await waitGone(corral, path))) {
        return `container ${path} is gone on ZooKeeper but still on Corral after ${GONE_TIMEOUT_MS} ms`;
      }
      containers.delete(path);
      changed = true;
    }
    if (!changed) return null;
  }
  return null;
}

/** What the Corral side is allowed that ZooKeeper does not do, each documented (docs/operations.md). */
export interface Allowances {
  /**
   * A gateway: a multi's create of a node the same multi deletes answers ctime and mtime 0
   * (ZooKeeper 3.8.0 answers a multi's create without its Stat, and the node is gone before the
   * gateway can read it). Such times are left out of the time checks; any other time still counts.
   */
  readonly vanishedMultiCreateTimes?: boolean;
}

function withoutVanishedTimes(op: Op, out: Outcome): Outcome {
  if (op.op !== 'multi' || !out.ok || out.results === undefined) return out;
  const results = out.results.map((r, i): SubResult => {
    if (r.op !== 'create' || !('stat' in r) || r.stat.ctime !== 0 || r.stat.mtime !== 0) return r;
    const deletedLater = op.ops.slice(i + 1).some((o) => o.op === 'delete' && o.path === r.path);
    return deletedLater ? { ...r, stat: { ...r.stat, ctime: NaN, mtime: NaN } } : r;
  });
  return { ...out, results };
}

export class PairRunner {
  private readonly zkNorm = new SideNormalizer('ZooKeeper');
  private readonly corralNorm = new SideNormalizer('Corral');
  private readonly containers = new Set<string>();
  readonly history: string[] = [];

  constructor(private readonly zk: Driver, private readonly corral: Driver, private readonly seed: number | string,
    private readonly allowances: Allowances = {}) {}

  /** Runs steps in order; returns the first difference, or null. */
  async runSteps(steps: readonly Step[]): Promise<Mismatch | null> {
    for (const [i, step] of steps.entries()) {
      const mismatch = 'waitGone' in step ? await this.waitGoneBoth(i, step.waitGone) : await this.step(i, step);
      if (mismatch !== null) return mismatch;
    }
    return null;
  }

  private async step(index: number, planned: Op<VersionSpec>): Promise<Mismatch | null> {
    const op = await resolveVersions(planned, async (path) => (await this.zk.stat(path))?.version ?? 0);
    const zkOut = await this.zk.run(op);
    const corralOut = await this.corral.run(op);
    this.history.push(`#${index} ${brief(op)}`);
    const zk = this.zkNorm.normalize(zkOut);
    const corral = this.corralNorm.normalize(this.allowances.vanishedMultiCreateTimes ? withoutVanishedTimes(op, corralOut) : corralOut);
    const violations = [...this.zkNorm.violations, ...this.corralNorm.violations];
    if (!sameOutcome(zk, corral) || violations.length > 0) {
      return this.mismatch(index, op, zk, corral, violations.join('; '), corralOut);
    }
    for (const path of createdContainers(op, zkOut)) this.containers.add(path);
    const settled = await settleContainers(this.zk, this.corral, this.containers);
    return settled === null ? null : this.mismatch(index, op, zk, corral, settled, corralOut);
  }

  private async waitGoneBoth(index: number, path: string): Promise<Mismatch | null> {
    this.history.push(`#${index} wait until ${path} is gone`);
    const [zkGone, corralGone] = await Promise.all([waitGone(this.zk, path), waitGone(this.corral, path)]);
    if (zkGone && corralGone) return null;
    return this.mismatch(index, `waitGone ${path}`, { gone: zkGone }, { gone: corralGone },
      `after ${GONE_TIMEOUT_MS} ms: ZooKeeper ${zkGone ? 'removed' : 'kept'} it, Corral ${corralGone ? 'removed' : 'kept'} it`);
  }

  private mismatch(opIndex: number, op: Op | string, zk: unknown, corral: unknown, note: string, corralRaw?: Outcome): Mismatch {
    const m: Mismatch = { seed: this.seed, opIndex, op, zk, corral, note, history: [...this.history] };
    if (corralRaw !== undefined) m.corralRaw = corralRaw;
    return m;
  }
}

/** Runs one seeded random sequence of `count` ops. */
export function runSeed(zk: Driver, corral: Driver, seed: number, count: number, allowances: Allowances = {}): Promise<Mismatch | null> {
  return new PairRunner(zk, corral, seed, allowances).runSteps(generateOps(seed, count));
}

export function formatMismatch(m: Mismatch, historyLines = 25, file = 'test/oracle'): string {
  const replay = typeof m.seed === 'number'
    ? `  replay: ORACLE_SEED=${m.seed} ORACLE_RUNS=1 ORACLE_OPS=${m.opIndex} npx vitest run ${file}\n` : '';
  return [
    `${typeof m.seed === 'number' ? `seed ${m.seed}` : m.seed}, op #${m.opIndex}: ${typeof m.op === 'string' ? m.op : brief(m.op)}`,
    `  ZooKeeper: ${show(m.zk)}`,
    `  Corral:    ${show(m.corral)}`,
    ...(m.corralRaw !== undefined ? [`  Corral raw: ${brief(m.corralRaw)}`] : []),
    ...(m.note !== '' ? [`  note: ${m.note}`] : []),
    replay + `  ops up to here (last ${historyLines}):`,
    ...m.history.slice(-historyLines).map((h) => `    ${h}`),
  ].join('\n');
}

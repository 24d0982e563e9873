// The oracle's operation model and its seeded generator. A sequence is a pure function of its seed
// (mulberry32), so a failure replays with ORACLE_SEED. Each sequence lives under its own root
// (/oracle-<seed>) over a small path universe, so creates, conflicts, NOTEMPTY and sequential
// counters happen often. Versions may be 'current': the runner resolves them from ZooKeeper's
// state just before the op and sends the same number to both sides.
// Data travels as base64 strings so ops and outcomes print as JSON.
import { isValidZkPath } from './zk-path.ts';

export type CreateMode =
  | 'persistent' | 'persistent_sequential' | 'container'
  | 'persistent_with_ttl' | 'persistent_sequential_with_ttl';
export type VersionSpec = number | 'current';

export type WriteSubOp<V = number> =
  | { op: 'create'; path: string; data: string; mode: CreateMode; ttl?: number }
  | { op: 'setData'; path: string; data: string; version: V }
  | { op: 'delete'; path: string; version: V }
  | { op: 'check'; path: string; version: V };
export type ReadSubOp = { op: 'getData' | 'getChildren'; path: string };
export type SubOp<V = number> = WriteSubOp<V> | ReadSubOp;
export type Op<V = number> =
  | Exclude<WriteSubOp<V>, { op: 'check' }>
  | { op: 'exists' | 'getData' | 'getChildren'; path: string }
  | { op: 'multi'; ops: SubOp<V>[] };

/** A Stat as both drivers report it (zxids as bigint, times in ms). */
export interface Stat {
  czxid: bigint; mzxid: bigint; pzxid: bigint; ctime: number; mtime: number;
  version: number; cversion: number; aversion: number; ephemeralOwner: string;
  dataLength: number; numChildren: number;
}
export type SubResult =
  | { op: 'create'; path: string; stat: Stat }
  | { op: 'setData'; stat: Stat }
  | { op: 'delete' | 'check' }
  | { op: 'getData'; path: string; data: string; stat: Stat }
  | { op: 'getChildren'; path: string; children: string[] }
  | { op: 'getData' | 'getChildren'; path: string; code: string };
export type Outcome =
  | { ok: true; path?: string; data?: string; children?: string[]; stat?: Stat; results?: SubResult[] }
  | { ok: false; code: string; failedOp?: number; results?: { op: string; code: string }[]; detail?: string };

export const isSequential = (mode: CreateMode): boolean => mode.includes('sequential');
export const isReadSubOp = (op: SubOp<unknown>): op is ReadSubOp => op.op === 'getData' || op.op === 'getChildren';

/** mulberry32: a tiny 32-bit seeded PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  private readonly next: () => number;
  constructor(seed: number) { this.next = mulberry32(seed); }
  int(n: number): number { return Math.floor(this.next() * n); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(table: readonly (readonly [number, T])[]): T {
    const total = table.reduce((sum, [w]) => sum + w, 0);
    let x = this.next() * total;
    for (const [w, value] of table) {
      if (x < w) return value;
      x -= w;
    }
    return table[table.length - 1]![1];
  }
}

// Relative to the run root. Names with spaces, accents and leading dots are valid and must survive
// URL encoding. '.' and '..' segments are left out: fetch's URL parser folds them (even as %2E).
const VALID: readonly (readonly [number, string])[] = [
  [6, ''], [14, '/a'], [10, '/a/b'], [6, '/a/b/c'], [12, '/b'], [8, '/b/d'], [12, '/c'], [5, '/c/é'],
  [4, '/a b'], [4, '/.x'],
];
const SEQ_PARENTS = ['', '/a', '/b', '/c'] as const;
const SEQ_PREFIXES = ['/s-', '/'] as const;
// Invalid by ZooKeeper's PathUtils (see zk-path.ts): trailing '/', empty segment, NUL, controls,
// U+007F–U+009F, U+D800–U+F8FF, U+FFF0–U+FFFF.
const INVALID = ['/a/', '//a', '/a//b', '/x\u0001', '/x\u007f', '/x\u0085', '/x\ue000', '/x\ufff0', '/x\u0000y'] as const;
const TTL_MS = 3_600_000; // long enough that nothing expires during a sequence

const parentOf = (path: string): string => path.slice(0, path.lastIndexOf('/'));
const isTtlMode = (mode: CreateMode): boolean => mode.endsWith('_with_ttl');

/**
 * A rough guess of which nodes exist, kept by the generator itself (so a sequence stays a pure
 * function of its seed) to aim ops at live nodes and fresh names more often than chance would.
 * It ignores containers being reaped and guesses versions; being wrong only costs coverage.
 */
class Belief {
  readonly nodes = new Set<string>();
  private readonly creations = new Map<string, number>();

  /** Applies `ops` if each looks likely to succeed; all or nothing, like a multi. */
  apply(ops: readonly SubOp<VersionSpec>[]): void {
    const nodes = new Set(this.nodes);
    const creations = new Map(this.creations);
    for (const op of ops) {
      if (isReadSubOp(op)) continue;
      const versionOk = !('version' in op) || op.version === -1 || op.version === 'current';
      if (op.op !== 'create' && (!nodes.has(op.path) || !versionOk)) return;
      if (op.op === 'delete' && [...nodes].some((n) => parentOf(n) === op.path)) return;
      if (op.op === 'delete') nodes.delete(op.path);
      if (op.op !== 'create') continue;
      const sequential = isSequential(op.mode);
      const parent = sequential ? op.path.slice(0, op.path.lastIndexOf('/')) : parentOf(op.path);
      const ttlOk = isTtlMode(op.mode) ? op.ttl === TTL_MS : op.ttl === undefined;
      if (!nodes.has(parent) || !ttlOk || !isValidZkPath(op.path, sequential)) return;
      const count = creations.get(parent) ?? 0;
      const path = sequential ? op.path + String(count).padStart(10, '0') : op.path;
      if (nodes.has(path)) return;
      nodes.add(path);
      creations.set(parent, count + 1);
    }
    this.nodes.clear();
    for (const n of nodes) this.nodes.add(n);
    for (const [k, v] of creations) this.creations.set(k, v);
  }
}

class Generator {
  readonly belief = new Belief();
  constructor(private readonly rng: Rng, readonly root: string) {
    this.belief.nodes.add(root); // the sequence's first op creates it
  }

  path(): string {
    const rng = this.rng;
    return rng.weighted<() => string>([
      [30, () => (this.belief.nodes.size > 0 ? rng.pick([...this.belief.nodes].sort()) : this.root)],
      [46, () => this.root + rng.weighted(VALID)],
      [20, () => this.root + rng.pick(SEQ_PARENTS) + rng.pick(SEQ_PREFIXES) + String(rng.int(6)).padStart(10, '0')],
      [4, () => this.root + rng.pick(INVALID)],
    ])();
  }

  /** A universe path that is probably free and whose parent probably exists. */
  freshPath(): string {
    const fresh = VALID.map(([, p]) => this.root + p)
      .filter((p) => !this.belief.nodes.has(p) && this.belief.nodes.has(parentOf(p)));
    return fresh.length > 0 && this.rng.chance(0.7) ? this.rng.pick(fresh) : this.path();
  }

  data(): string {
    const rng = this.rng;
    const bytes = rng.weighted<() => Uint8Array>([
      [20, () => new Uint8Array(0)],
      [40, () => Buffer.from(`v${rng.int(1000)}`, 'utf8')],
      [25, () => Uint8Array.from({ length: 1 + rng.int(8) }, () => 0x80 + rng.int(0x80))],
      [10, () => Buffer.from('é☃\u0000z', 'utf8')],
      [5, () => Uint8Array.from({ length: 1000 + rng.int(3000) }, () => rng.int(256))],
    ])();
    return Buffer.from(bytes).toString('base64');
  }

  version(): VersionSpec {
    const rng = this.rng;
    return rng.weighted<() => VersionSpec>([
      [30, () => -1], [35, () => 'current'], [25, () => rng.int(3)], [10, () => rng.pick([-2, 7, 2147483647])],
    ])();
  }

  create(): Extract<WriteSubOp<VersionSpec>, { op: 'create' }> {
    const rng = this.rng;
    const mode = rng.weighted<CreateMode>([
      [45, 'persistent'], [20, 'persistent_sequential'], [15, 'container'],
      [12, 'persistent_with_ttl'], [8, 'persistent_sequential_with_ttl'],
    ]);
    let path = isSequential(mode) ? this.root + rng.pick(SEQ_PARENTS) + rng.pick(SEQ_PREFIXES) : this.freshPath();
    if (isSequential(mode) && rng.chance(0.05)) path = this.root + rng.pick(INVALID);
    // Mostly a sane TTL; sometimes none, zero, too large (> 2^40 - 1), or a TTL (even 0) on a
    // non-TTL mode: ZooKeeper refuses any ttl >= 0 there (EphemeralType.validateTTL).
    const ttl = rng.weighted<number | undefined>(isTtlMode(mode)
      ? [[90, TTL_MS], [3, undefined], [4, 0], [3, 2 ** 40]]
      : [[95, undefined], [3, TTL_MS], [2, 0]]);
    return { op: 'create', path, data: this.data(), mode, ...(ttl === undefined ? {} : { ttl }) };
  }

  write(): WriteSubOp<VersionSpec> {
    return this.rng.weighted<() => WriteSubOp<VersionSpec>>([
      [40, () => this.create()],
      [20, () => ({ op: 'setData', path: this.path(), data: this.data(), version: this.version() })],
      [20, () => ({ op: 'delete', path: this.path(), version: this.version() })],
      [20, () => ({ op: 'check', path: this.path(), version: this.version() })],
    ])();
  }

  /** Ops that depend on each other (create then use; check then write), often broken on purpose. */
  dependentWrites(): WriteSubOp<VersionSpec>[] {
    const rng = this.rng;
    const x = this.freshPath();
    const plan: WriteSubOp<VersionSpec>[] = rng.chance(0.5)
      ? [{ op: 'create', path: x, data: this.data(), mode: rng.pick(['persistent', 'container'] as const) },
        { op: 'create', path: `${x}/k`, data: this.data(), mode: 'persistent' },
        { op: 'setData', path: x, data: this.data(), version: 0 },
        { op: 'check', path: x, version: 1 }]
      : [{ op: 'check', path: this.path(), version: 'current' },
        { op: 'setData', path: this.path(), data: this.data(), version: 'current' },
        { op: 'setData', path: this.path(), data: this.data(), version: -1 },
        { op: 'delete', path: this.path(), version: 'current' }];
    const ops = plan.slice(0, 2 + rng.int(3));
    if (rng.chance(0.3)) ops[rng.int(ops.length)] = this.write(); // a likely failure mid-way
    return ops;
  }

  multi(): Op<VersionSpec> {
    const rng = this.rng;
    const kind = rng.weighted([[45, 'write'], [27, 'dependent'], [25, 'read'], [3, 'mixed']] as const);
    if (kind === 'dependent') return { op: 'multi', ops: this.dependentWrites() };
    const n = rng.weighted([[3, 0], [35, 1], [32, 2], [18, 3], [12, 4]] as const);
    const ops: SubOp<VersionSpec>[] = [];
    for (let i = 0; i < n; i++) {
      const read = kind === 'read' || (kind === 'mixed' && i % 2 === 1);
      ops.push(read ? { op: rng.chance(0.5) ? 'getData' : 'getChildren', path: this.path() } : this.write());
    }
    return { op: 'multi', ops };
  }

  op(): Op<VersionSpec> {
    const op = this.rng.weighted<() => Op<VersionSpec>>([
      [24, () => this.create()],
      [14, () => ({ op: 'setData', path: this.path(), data: this.data(), version: this.version() })],
      [14, () => ({ op: 'delete', path: this.path(), version: this.version() })],
      [8, () => ({ op: 'exists', path: this.path() })],
      [8, () => ({ op: 'getData', path: this.path() })],
      [8, () => ({ op: 'getChildren', path: this.path() })],
      [24, () => this.multi()],
    ])();
    if (op.op === 'multi') {
      if (op.ops.every((o) => !isReadSubOp(o))) this.belief.apply(op.ops);
    } else if (op.op === 'create' || op.op === 'setData' || op.op === 'delete') {
      this.belief.apply([op]);
    }
    return op;
  }
}

export function runRoot(seed: number): string {
  return `/oracle-${seed}`;
}

/** The op sequence of one run: its root is created first, then `count` random ops. */
export function generateOps(seed: number, count: number): Op<VersionSpec>[] {
  const gen = new Generator(new Rng(seed), runRoot(seed));
  const ops: Op<VersionSpec>[] = [{ op: 'create', path: gen.root, data: '', mode: 'persistent' }];
  for (let i = 0; i < count; i++) ops.push(gen.op());
  return ops;
}

/** Replaces every 'current' version with `currentVersion(path)` (a missing node counts as 0). */
export async function resolveVersions(
  op: Op<VersionSpec>, currentVersion: (path: string) => Promise<number>,
): Promise<Op> {
  const fix = async <T extends { version?: VersionSpec }>(o: T): Promise<T> =>
    o.version === 'current' ? { ...o, version: await currentVersion((o as unknown as { path: string }).path) } : o;
  if (op.op === 'multi') {
    const ops: SubOp[] = [];
    for (const sub of op.ops) ops.push((await fix(sub as SubOp<VersionSpec> & { version?: VersionSpec })) as SubOp);
    return { op: 'multi', ops };
  }
  return (await fix(op as Op<VersionSpec> & { version?: VersionSpec })) as Op;
}

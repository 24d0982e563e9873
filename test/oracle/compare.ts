// Normalizes outcomes so ZooKeeper and Corral can be compared field by field.
// - zxids: replaced by their rank among the distinct zxids this side has reported so far. Only
//   order matters: ZooKeeper spends zxids on failed writes and empty multis, Corral need not.
// - ctime/mtime: not compared across sides (clocks differ). Each side must be self-consistent:
//   a zxid always maps to one time, and times never decrease as zxids grow. Violations are
//   reported like mismatches.
// - data: bytes (base64); sequential names, codes, versions, counts: exactly.
// - failure shape: when ZooKeeper reports no per-op results (the Java client refused the multi
//   before sending it), only the code is compared.
import type { Outcome, Stat } from './ops.ts';

interface NormStat {
  czxid: number; mzxid: number; pzxid: number; version: number; cversion: number;
  aversion: number; ephemeralOwner: string; dataLength: number; numChildren: number;
}

function statsOf(outcome: Outcome): Stat[] {
  if (!outcome.ok) return [];
  const stats: Stat[] = [];
  if (outcome.stat !== undefined) stats.push(outcome.stat);
  for (const r of outcome.results ?? []) if ('stat' in r) stats.push(r.stat);
  return stats;
}

export class SideNormalizer {
  private readonly zxids: bigint[] = []; // sorted, distinct
  private readonly times = new Map<bigint, number>();
  readonly violations: string[] = [];

  constructor(readonly side: string) {}

  normalize(outcome: Outcome): unknown {
    const stats = statsOf(outcome);
    for (const s of stats) {
      for (const z of [s.czxid, s.mzxid, s.pzxid]) this.observe(z);
      this.recordTime(s.czxid, s.ctime);
      this.recordTime(s.mzxid, s.mtime);
    }
    return JSON.parse(JSON.stringify(outcome, (key, value: unknown) => {
      if (key === 'detail') return undefined;
      if (value !== null && typeof value === 'object' && 'czxid' in value) return this.normStat(value as Stat);
      return value;
    })) as unknown;
  }

  private normStat(s: Stat): NormStat {
    return {
      czxid: this.rank(s.czxid), mzxid: this.rank(s.mzxid), pzxid: this.rank(s.pzxid),
      version: s.version, cversion: s.cversion, aversion: s.aversion,
      ephemeralOwner: s.ephemeralOwner, dataLength: s.dataLength, numChildren: s.numChildren,
    };
  }

  private observe(z: bigint): void {
    let lo = 0;
    let hi = this.zxids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.zxids[mid]! < z) lo = mid + 1;
      else hi = mid;
    }
    if (this.zxids[lo] !== z) this.zxids.splice(lo, 0, z);
  }

  private rank(z: bigint): number {
    return this.zxids.indexOf(z);
  }

  private recordTime(zxid: bigint, time: number): void {
    if (Number.isNaN(time)) return;
    const known = this.times.get(zxid);
    if (known !== undefined) {
      if (known !== time) this.violations.push(`${this.side}: zxid ${zxid} has two times, ${known} and ${time}`);
      return;
    }
    for (const [z, t] of this.times) {
      if ((z < zxid && t > time) || (z > zxid && t < time)) {
        this.violations.push(`${this.side}: time goes backwards: zxid ${z} at ${t}, zxid ${zxid} at ${time}`);
        break;
      }
    }
    this.times.set(zxid, time);
  }
}

/** Drops the per-op failure detail from `other` when ZooKeeper's outcome has none. */
export function alignShape(zk: unknown, other: unknown): unknown {
  const z = zk as Record<string, unknown>;
  const o = other as Record<string, unknown>;
  if (z.ok !== false || o.ok !== false || 'results' in z) return other;
  const { failedOp: _f, results: _r, ...rest } = o;
  return rest;
}

/** JSON with sorted keys, bigints as strings and invisible/unusual characters escaped. */
export function show(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (typeof v === 'bigint') return `${v}`;
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return JSON.stringify(sortKeys(value))
    .replace(/[\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function sameOutcome(zk: unknown, corral: unknown): boolean {
  return show(zk) === show(alignShape(zk, corral));
}

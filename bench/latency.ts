/**
 * Latency samples in milliseconds: every op is recorded (the count is bounded by --max-ops), and
 * percentiles come from the sorted samples, so p99 is exact rather than bucketed.
 */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export class LatencyRecorder {
  private samples: Float64Array;
  private size = 0;

  constructor(private readonly capacityMax: number, initial = 4096) {
    this.samples = new Float64Array(Math.min(initial, capacityMax));
  }

  get count(): number {
    return this.size;
  }

  /** Records one sample; false (and nothing recorded) once the cap is reached. */
  record(ms: number): boolean {
    if (this.size >= this.capacityMax) return false;
    if (this.size === this.samples.length) {
      const grown = new Float64Array(Math.min(this.samples.length * 2, this.capacityMax));
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.size++] = ms;
    return true;
  }

  summary(): LatencySummary {
    if (this.size === 0) return { count: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN, meanMs: NaN };
    const sorted = this.samples.slice(0, this.size).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: this.size,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      maxMs: sorted[sorted.length - 1]!,
      meanMs: sum / sorted.length,
    };
  }
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: Float64Array, q: number): number {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Requests per second per caller: a token bucket per key (`ratePerSecond` tokens a second, at
 * most `burst` saved up). A request takes a token or is refused with how long until the next.
 * Buckets are bounded: a full bucket is the same as none, so the least recently used one is
 * dropped when `bucketsMax` are held (a caller rotating addresses faster than that gets a fresh
 * burst, at worst; it cannot grow the map).
 */
import { OldestFirst } from '../../core/oldest-first.ts';

export interface RateLimitOptions {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly nowMs: () => number;
  readonly bucketsMax?: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

const BUCKETS_MAX = 100_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly leastRecent = new OldestFirst(this.buckets);
  private readonly bucketsMax: number;

  constructor(private readonly options: RateLimitOptions) {
    this.bucketsMax = options.bucketsMax ?? BUCKETS_MAX;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** 0 when `key` may go now (a token taken), else the milliseconds until it may. */
  take(key: string): number {
    const { ratePerSecond, burst, nowMs } = this.options;
    const now = nowMs();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.bucketsMax) this.leastRecent.take();
      bucket = { tokens: burst, atMs: now };
    } else {
      // Re-inserted on use: the map's order is least recently used first.
      this.buckets.delete(key);
      bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.atMs) * ratePerSecond) / 1000);
      bucket.atMs = now;
    }
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * 1000) / ratePerSecond);
  }
}

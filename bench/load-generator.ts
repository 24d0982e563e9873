/**
 * The closed-loop load generator: `inFlight` workers each issue one op, wait for its answer and
 * issue the next, so exactly `inFlight` requests are outstanding. A warm-up (not recorded) comes
 * first; then ops are measured until `durationMs` has passed or `maxOps` were measured, whichever
 * is first. An op counts (with its whole latency) when it completes inside the measured window. Errors are counted, and the
 * run stops early once they pass `errorsMax` (a dead server must not spin the loop).
 */
import { LatencyRecorder, type LatencySummary } from './latency.ts';

export interface LoopOptions {
  readonly inFlight: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly maxOps: number;
  readonly errorsMax?: number;
  /** Called when the measured window opens and when it closes (e.g. to read the server's CPU time). */
  readonly onWindow?: (edge: 'open' | 'close') => void;
}

export interface LoopResult {
  readonly ops: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly elapsedMs: number;
  readonly opsPerSec: number;
  readonly latency: LatencySummary;
}

/** `op(seq)` runs one operation; seq counts from 0 across all workers, warm-up included. */
export async function runClosedLoop(op: (seq: number) => Promise<unknown>, options: LoopOptions): Promise<LoopResult> {
  const { inFlight, warmupMs, durationMs, maxOps } = options;
  const errorsMax = options.errorsMax ?? 1000;
  const recorder = new LatencyRecorder(maxOps);
  const started = performance.now();
  const measureFrom = started + warmupMs;
  let measureUntil = measureFrom + durationMs;
  let seq = 0;
  let errors = 0;
  let firstError: string | undefined;
  let stopped = false;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearTimeout(closeTimer);
    options.onWindow?.('close');
  };
  const openTimer = setTimeout(() => options.onWindow?.('open'), warmupMs);
  const closeTimer = setTimeout(close, warmupMs + durationMs);

  const worker = async (): Promise<void> => {
    while (!stopped) {
      const t0 = performance.now();
      if (t0 >= measureUntil) break;
      try {
        await op(seq++);
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
        if (errors >= errorsMax) stopped = true;
        continue;
      }
      const t1 = performance.now();
      if (t1 >= measureFrom && t1 <= measureUntil && !recorder.record(t1 - t0)) {
        measureUntil = Math.min(measureUntil, t1);
        stopped = true;
        close();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: inFlight }, worker));
  } finally {
    clearTimeout(openTimer);
    close();
  }
  const end = Math.min(measureUntil, performance.now());
  const elapsedMs = Math.max(0, end - measureFrom);
  const latency = recorder.summary();
  return {
    ops: latency.count, errors, firstError, elapsedMs,
    opsPerSec: elapsedMs > 0 ? (latency.count * 1000) / elapsedMs : 0, latency,
  };
}

/** Runs `tasks` with at most `parallel` at a time (bulk loading); rejects on the first failure. */
export async function runBounded<T>(items: readonly T[], parallel: number, task: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === undefined) {
      const i = next++;
      try {
        await task(items[i]!, i);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

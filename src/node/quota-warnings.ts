/**
 * Logs the quota limits applied writes pass (ApplyOutput.quotaExceeded), as ZooKeeper 3.6's
 * DataTree did (`Quota exceeded: /p count=3 limit=2`) and 3.7+'s checkQuota does for a soft limit or
 * a refused write. The tree only reports (it is pure); this applier writes the WARN. At most one
 * line per quota root per interval, so a loop of writes past a limit cannot flood the log; the
 * next line says how many were left out.
 */
import type { Logger } from '../observability/logger.ts';
import type { ApplyOutput } from '../core/tree/results.ts';
import type { Applier } from './applier.ts';

export const QUOTA_WARNING_INTERVAL_MS = 10_000;

interface RootState {
  lastMs: number;
  suppressed: number;
}

export class QuotaWarnings implements Applier {
  private readonly roots = new Map<string, RootState>();

  constructor(
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly nowMs: () => number,
    private readonly intervalMs = QUOTA_WARNING_INTERVAL_MS,
  ) {}

  applied(output: ApplyOutput): void {
    if (output.quotaExceeded === undefined) return;
    const now = this.nowMs();
    for (const { root, what, value, limit, hard, refused } of output.quotaExceeded) {
      const state = this.roots.get(root);
      if (state !== undefined && now - state.lastMs < this.intervalMs) {
        state.suppressed++;
        continue;
      }
      const suppressed = state?.suppressed ?? 0;
      this.forgetQuietRoots(now);
      this.roots.set(root, { lastMs: now, suppressed: 0 });
      this.logger.warn(
        { event: 'quotaExceeded', root, what, value, limit, hard, refused, ...(suppressed > 0 ? { suppressed } : {}) },
        `Quota exceeded: ${root} ${what}=${value} limit=${limit}`,
      );
    }
  }

  /** Roots quiet for a whole interval need no memory (their count of lines left out goes with them). */
  private forgetQuietRoots(now: number): void {
    if (this.roots.size < 64) return;
    for (const [root, state] of this.roots) if (now - state.lastMs >= this.intervalMs) this.roots.delete(root);
  }
}

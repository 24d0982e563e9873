/**
 * The leader's cleanup duty: finds container and TTL nodes due for removal and proposes a reap
 * transaction for each, through the same write path as client writes. Apply re-checks the
 * condition, so a proposal overtaken by a change is harmless.
 */
import { isReapable } from '../core/tree/ops.ts';
import type { Logger } from '../observability/logger.ts';
import type { NodeHost } from './node-host.ts';

const REAPS_PER_ROUND_MAX = 1000;

export class Reaper {
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly host: NodeHost,
    private readonly nowMs: () => number,
    private readonly logger: Logger,
  ) {}

  /** One round: called on the reap interval. */
  round(): void {
    const { tree } = this.host;
    if (this.host.status().role !== 'leader') return;
    const now = this.nowMs();
    let proposed = 0;
    for (const path of tree.reapCandidates()) {
      if (proposed >= REAPS_PER_ROUND_MAX) break;
      const node = tree.get(path);
      if (!node || this.inFlight.has(path) || !isReapable(tree, node, now)) continue;
      proposed++;
      this.inFlight.add(path);
      this.host
        .submit({ timeMs: now, txn: { type: 'reap', path, czxid: node.czxid } })
        .catch((error: unknown) => this.logger.warn({ err: error, path, event: 'reap-failed' }, 'reap not committed'))
        .finally(() => this.inFlight.delete(path));
    }
  }
}

/** What the HTTP layer needs: the backend it serves (the one seam to the rest), and its own settings. */
import type { Backend } from '../backend/backend.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';

export interface AppDeps {
  readonly backend: Backend;
  readonly metrics: Metrics;
  readonly config: Config;
  readonly logger: Logger;
  readonly nowMs: () => number;
}

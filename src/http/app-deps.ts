/** What the HTTP layer needs: the backend it serves (the one seam to the rest), and its own settings. */
import type { Authenticator } from '../auth/authenticator.ts';
import type { Backend } from '../backend/backend.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';

export interface AppDeps {
  readonly backend: Backend;
  /** The authenticate step (every carrier calls it through caller.ts). */
  readonly authenticator: Authenticator;
  readonly metrics: Metrics;
  readonly config: Config;
  readonly logger: Logger;
  readonly nowMs: () => number;
}

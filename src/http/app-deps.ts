/** What the HTTP layer needs from the rest of the node. */
import type { Config } from '../config.ts';
import type { CorralNode } from '../node/corral-node.ts';
import type { Logger } from '../observability/logger.ts';

export interface AppDeps {
  readonly node: CorralNode;
  readonly config: Config;
  readonly logger: Logger;
  readonly nowMs: () => number;
}

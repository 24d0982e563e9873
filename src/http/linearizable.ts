/**
 * `?consistency=linearizable` reads and sync: before answering from this node's tree, confirm
 * with the leader and a quorum what is committed (ReadIndex) and wait until it is applied here.
 * Without a quorum the answer is a prompt 503, never a stale read.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { zkError } from '../core/errors.ts';
import { NotCommittedError } from '../node/node-host.ts';
import type { AppDeps } from './app-deps.ts';
import { errorResponse } from './errors.ts';

/** The reads of znodes (getData, exists, getChildren), which take `consistency` and `watch`. */
export const ZNODE_READS = /^\/v1\/(znodes|stat|children)(\/|$)/;

/** Resolves to undefined once a linearizable read may proceed, or to the error response. */
export async function readBarrier(c: Context, deps: AppDeps): Promise<Response | undefined> {
  // A cluster of one applied every write it acknowledged: its own tree is the commit point.
  if (!deps.node.peers.clustered) return undefined;
  try {
    await deps.node.host.readBarrier(deps.config.minZxidWaitMs);
    return undefined;
  } catch (error) {
    if (error instanceof NotCommittedError) return errorResponse(c, error.error);
    deps.logger.warn({ event: 'read-barrier-failed', err: error }, 'read barrier failed');
    return errorResponse(c, zkError('CONNECTIONLOSS', 'could not confirm the commit point; retry'));
  }
}

export function linearizableReads(deps: AppDeps, urlPath: (c: Context) => string): MiddlewareHandler {
  return async function linearizable(c, next) {
    const read = (c.req.method === 'GET' || c.req.method === 'HEAD') && ZNODE_READS.test(urlPath(c));
    if (read && c.req.query('consistency') === 'linearizable') {
      const refused = await readBarrier(c, deps);
      if (refused) return refused;
    }
    await next();
  };
}

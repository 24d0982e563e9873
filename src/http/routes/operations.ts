/** Operations endpoints: health, readiness, metrics, cluster status, sync (the spec and its reference: docs.ts). */
import type { Context } from 'hono';
import type { AppDeps } from '../app-deps.ts';
import { errorResponse } from '../errors.ts';
import { znodePath } from '../znode-path.ts';

export function operationsHandlers(deps: AppDeps) {
  const { backend } = deps;
  return {
    health: (c: Context) => c.json({ status: 'ok' }),
    ready: (c: Context) => {
      const notReady = backend.readiness();
      return notReady ? errorResponse(c, notReady) : c.json({ status: 'ready' });
    },
    metrics: async (c: Context) => {
      const { registry } = deps.metrics;
      return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
    },
    cluster: (c: Context) => c.json(backend.cluster()),
    // ZooKeeper's sync: catch this member up with the leader's commit point (ReadIndex).
    sync: async (c: Context) => {
      const path = znodePath(c, '/v1/sync');
      const refused = await backend.sync();
      if (refused) return errorResponse(c, refused);
      return c.json({ path, zxid: String(backend.appliedZxid) });
    },
  };
}

/** Operations endpoints: health, readiness, metrics, cluster status, sync, the spec and its docs. */
import { readFileSync } from 'node:fs';
import type { Context } from 'hono';
import type { AppDeps } from '../app-deps.ts';
import { renderDocsPage } from '../docs-page.ts';
import { errorResponse } from '../errors.ts';
import { znodePath } from '../znode-path.ts';
import { packageFile } from '../../package-root.ts';

export function operationsHandlers(deps: AppDeps) {
  const { backend } = deps;
  const spec = readFileSync(packageFile('openapi.yaml'), 'utf8');
  let docs: string | undefined;

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
    spec: (c: Context) => c.body(spec, 200, { 'Content-Type': 'application/yaml; charset=utf-8' }),
    docs: (c: Context) => c.html((docs ??= renderDocsPage(spec))),
  };
}

/** Operations endpoints: health, readiness, metrics, cluster status, sync, the spec and its docs. */
import { readFileSync } from 'node:fs';
import { Hono, type Context } from 'hono';
import { zkError } from '../../core/errors.ts';
import { epochOf } from '../../core/consensus/zxid.ts';
import { clusterView } from '../cluster-view.ts';
import type { AppDeps } from '../app-deps.ts';
import { renderDocsPage } from '../docs-page.ts';
import { errorResponse } from '../errors.ts';
import { znodePath } from '../znode-path.ts';
import { readBarrier } from '../linearizable.ts';
import { packageFile } from '../../package-root.ts';

export function operationsRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  const { host } = deps.node;
  const spec = readFileSync(packageFile('openapi.yaml'), 'utf8');
  let docs: string | undefined;

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', (c) => {
    const status = host.status();
    if (status.leader === 0) return errorResponse(c, zkError('CONNECTIONLOSS', 'no leader'));
    if (status.appliedIndex < status.commitIndex) {
      return errorResponse(c, zkError('CONNECTIONLOSS', 'catching up with the log'));
    }
    // A leader is ready once it applied an entry of its own term: everything before it is in its tree.
    if (status.role === 'leader' && epochOf(host.appliedZxid) !== status.term) {
      return errorResponse(c, zkError('CONNECTIONLOSS', 'the new leader is committing its first entry'));
    }
    return c.json({ status: 'ready' });
  });

  app.get('/metrics', async (c) => {
    const { registry } = deps.node.metrics;
    return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
  });

  app.get('/v1/cluster', (c) => c.json(clusterView(deps)));

  const sync = async (c: Context) => {
    const path = znodePath(c, '/v1/sync');
    // ZooKeeper's sync: catch this node up with the leader's commit point (ReadIndex).
    const refused = await readBarrier(c, deps);
    if (refused) return refused;
    return c.json({ path, zxid: String(host.appliedZxid) });
  };
  app.post('/v1/sync', sync);
  app.post('/v1/sync/*', sync);

  app.get('/openapi.yaml', (c) => c.body(spec, 200, { 'Content-Type': 'application/yaml; charset=utf-8' }));
  app.get('/docs', (c) => c.html((docs ??= renderDocsPage(spec))));
  return app;
}

/** Operations endpoints: health, readiness, metrics, cluster status, sync, the spec and its docs. */
import { readFileSync } from 'node:fs';
import { Hono, type Context } from 'hono';
import { zkError } from '../../core/errors.ts';
import { epochOf, zxidOf } from '../../core/consensus/zxid.ts';
import type { AppDeps } from '../app-deps.ts';
import { renderDocsPage } from '../docs-page.ts';
import { errorResponse } from '../errors.ts';
import { znodePath } from '../znode-path.ts';

const SPEC_URL = new URL('../../../openapi.yaml', import.meta.url);

export function operationsRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  const { host } = deps.node;
  const spec = readFileSync(SPEC_URL, 'utf8');
  let docs: string | undefined;

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', (c) => {
    const status = host.status();
    if (status.role !== 'leader' && status.leader === 0) {
      return errorResponse(c, zkError('CONNECTIONLOSS', 'no leader'));
    }
    if (status.appliedIndex < status.commitIndex) {
      return errorResponse(c, zkError('CONNECTIONLOSS', 'catching up with the log'));
    }
    return c.json({ status: 'ready' });
  });

  app.get('/metrics', async (c) => {
    const { registry } = deps.node.metrics;
    return c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
  });

  app.get('/v1/cluster', (c) => {
    const s = host.status();
    const lastZxid = String(zxidOf(s.term, s.lastIndex));
    return c.json({
      self: s.id, role: s.role === 'leader' || s.role === 'follower' ? s.role : 'looking',
      leader: s.leader === 0 ? null : s.leader, epoch: epochOf(host.appliedZxid) || s.term,
      lastZxid, commitZxid: String(host.appliedZxid),
      members: [{ id: s.id, address: `${deps.config.host}:${deps.config.port}`, role: s.role, lag: 0 }],
    });
  });

  const sync = (c: Context) => {
    const path = znodePath(c, '/v1/sync');
    // A cluster of one applies every write before acknowledging it: its applied zxid is the
    // leader's commit point. (A replicated node asks the leader first: ReadIndex.)
    return c.json({ path, zxid: String(host.appliedZxid) });
  };
  app.post('/v1/sync', sync);
  app.post('/v1/sync/*', sync);

  app.get('/openapi.yaml', (c) => c.body(spec, 200, { 'Content-Type': 'application/yaml; charset=utf-8' }));
  app.get('/docs', (c) => c.html((docs ??= renderDocsPage(spec))));
  return app;
}

/** GET /v1/watch/{path}: the session-less watch stream (see ../watch-stream.ts). */
import { Hono, type Context } from 'hono';
import type { AppDeps } from '../app-deps.ts';
import { streamWatch } from '../watch-stream.ts';
import { znodePath } from '../znode-path.ts';

export function watchRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  const watch = (c: Context) => streamWatch(c, deps, znodePath(c, '/v1/watch'));
  app.get('/v1/watch', watch);
  app.get('/v1/watch/*', watch);
  return app;
}

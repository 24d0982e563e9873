/** GET /v1/watch/{path}: the session-less watch stream (see ../watch-stream.ts). */
import type { Context } from 'hono';
import type { AppDeps } from '../app-deps.ts';
import { streamWatch } from '../watch-stream.ts';
import { znodePath } from '../znode-path.ts';

export function watchHandlers(deps: AppDeps) {
  return { watchStream: (c: Context) => streamWatch(c, deps, znodePath(c, '/v1/watch')) };
}

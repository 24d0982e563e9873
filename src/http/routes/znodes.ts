/** The znode calls as Hono routes: each request is adapted to a CallRequest (see ../znode-calls.ts). */
import { Hono, type Context } from 'hono';
import type { AppDeps } from '../app-deps.ts';
import { readBody } from '../body.ts';
import { toResponse } from '../reply.ts';
import { sessionOf } from '../session-context.ts';
import { children, create, getData, remove, setData, stat, ZNODES, type CallRequest, type ZnodeCall } from '../znode-calls.ts';
import { rawPathname } from '../znode-path.ts';

function callRequest(c: Context, deps: AppDeps): CallRequest {
  return {
    method: c.req.method,
    rawPath: rawPathname(c),
    query: (name) => c.req.query(name),
    header: (name) => c.req.header(name),
    readBody: (limit) => readBody(c, limit),
    session: () => sessionOf(c, deps),
  };
}

export function znodeRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  const route = (call: ZnodeCall) => async (c: Context) => toResponse(c, await call(deps, callRequest(c, deps)));
  // Hono routes HEAD to the GET handler: getData answers HEAD as exists.
  for (const [prefix, method, call] of [
    [ZNODES, 'get', getData], [ZNODES, 'post', create], [ZNODES, 'put', setData], [ZNODES, 'delete', remove],
    ['/v1/stat', 'get', stat], ['/v1/children', 'get', children],
  ] as const) {
    app.on(method.toUpperCase(), [prefix, `${prefix}/*`], route(call));
  }
  return app;
}

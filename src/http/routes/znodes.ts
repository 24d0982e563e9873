/** The znode calls as Hono handlers: each request is adapted to a CallRequest (see ../znode-calls.ts). */
import type { Context, Handler } from 'hono';
import type { AppDeps } from '../app-deps.ts';
import { readBody } from '../body.ts';
import { QueryParams, searchOf } from '../edge/query.ts';
import { callerOfContext } from '../caller.ts';
import { toResponse } from '../reply.ts';
import { sessionOf } from '../session-context.ts';
import { allChildrenNumber, children, create, getData, remove, setData, stat, type CallRequest, type ZnodeCall } from '../znode-calls.ts';
import { rawPathname } from '../znode-path.ts';
import { getAcl, setAcl } from '../acl-calls.ts';

function callRequest(c: Context, deps: AppDeps): CallRequest {
  // The routed URL's path and query, decoded as the direct paths decode theirs (edge/query.ts).
  const params = new QueryParams(searchOf(c.req.url));
  return {
    method: c.req.method,
    rawPath: rawPathname(c),
    query: (name) => params.get(name),
    header: (name) => c.req.header(name),
    readBody: (limit) => readBody(c, limit),
    session: () => sessionOf(c, deps),
    caller: () => callerOfContext(c),
  };
}

export function znodeHandlers(deps: AppDeps) {
  const handler = (call: ZnodeCall): Handler => async (c) => toResponse(c, await call(deps, callRequest(c, deps)));
  // Hono routes HEAD to the GET handler: getData answers HEAD as exists.
  return {
    getData: handler(getData), create: handler(create), setData: handler(setData), delete: handler(remove),
    exists: handler(stat), getChildren: handler(children), getAllChildrenNumber: handler(allChildrenNumber),
    getACL: handler(getAcl), setACL: handler(setAcl),
  };
}

/**
 * Every route of the HTTP API, described once. The Hono app registers its handlers from this
 * table (app.ts), the method guard answers 405 with `Allow` from it, and the direct paths for
 * plain znode calls (fast-path.ts, wire/) take exactly the routes that name a `call` here.
 *
 * `effect` says what a route does to the ensemble: `read` answers from this member's state
 * (`consistency` says which reads may ask for a quorum-confirmed one, `watchable` which may set
 * a watch — a watched read is ordered through the leader like a write), `write` is ordered
 * through the leader (backend.write or a session proposal), `stream` holds an event stream.
 */
import { getAcl, setAcl } from './acl-calls.ts';
import { allChildrenNumber, children, create, getData, remove, setData, stat, type ZnodeCall } from './znode-calls.ts';

export type RouteId =
  | 'getData' | 'create' | 'setData' | 'delete' | 'exists' | 'getChildren' | 'getAllChildrenNumber' | 'getACL' | 'setACL' | 'multi'
  | 'createSession' | 'listSessions' | 'closeSession' | 'keepalive' | 'streamTicket' | 'sessionEvents' | 'ephemerals' | 'addWatch' | 'removeWatches'
  | 'sync' | 'watchStream' | 'health' | 'ready' | 'metrics' | 'cluster' | 'transferLeader' | 'backup' | 'spec' | 'docs' | 'docsAsset' | 'ui'
  | 'listMembers' | 'addMember' | 'promoteMember' | 'removeMember' | 'replaceMember';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteSpec {
  readonly id: RouteId;
  /** GET routes answer HEAD too. */
  readonly method: Method;
  /** Hono patterns; the route's name in metrics is the one a request matched. */
  readonly paths: readonly string[];
  readonly effect: 'read' | 'write' | 'stream';
  /** Takes `?consistency=local|linearizable`. */
  readonly consistency?: boolean;
  /** Takes `?watch=true` (with a session). */
  readonly watchable?: boolean;
  /** A znode call the direct paths may run for a plain request (no session, origin, Zk-Min-Zxid). */
  readonly call?: ZnodeCall;
}

const under = (prefix: string) => [prefix, `${prefix}/*`] as const;

export const ROUTES: readonly RouteSpec[] = [
  { id: 'getData', method: 'GET', paths: under('/v1/znodes'), effect: 'read', consistency: true, watchable: true, call: getData },
  { id: 'create', method: 'POST', paths: under('/v1/znodes'), effect: 'write', call: create },
  { id: 'setData', method: 'PUT', paths: under('/v1/znodes'), effect: 'write', call: setData },
  { id: 'delete', method: 'DELETE', paths: under('/v1/znodes'), effect: 'write', call: remove },
  { id: 'exists', method: 'GET', paths: under('/v1/stat'), effect: 'read', consistency: true, watchable: true, call: stat },
  { id: 'getChildren', method: 'GET', paths: under('/v1/children'), effect: 'read', consistency: true, watchable: true, call: children },
  { id: 'getAllChildrenNumber', method: 'GET', paths: under('/v1/descendants'), effect: 'read', consistency: true, call: allChildrenNumber },
  { id: 'getACL', method: 'GET', paths: under('/v1/acl'), effect: 'read', call: getAcl },
  { id: 'setACL', method: 'PUT', paths: under('/v1/acl'), effect: 'write', call: setAcl },
  { id: 'multi', method: 'POST', paths: ['/v1/multi'], effect: 'write' },
  { id: 'createSession', method: 'POST', paths: ['/v1/sessions'], effect: 'write' },
  // The live sessions, for operators (routes/session-list.ts): like /v1/cluster, on the admin listener when there is one.
  { id: 'listSessions', method: 'GET', paths: ['/v1/sessions'], effect: 'read' },
  { id: 'closeSession', method: 'DELETE', paths: ['/v1/sessions/:id'], effect: 'write' },
  { id: 'keepalive', method: 'POST', paths: ['/v1/sessions/:id/keepalive'], effect: 'write' },
  { id: 'streamTicket', method: 'POST', paths: ['/v1/sessions/:id/stream-ticket'], effect: 'read' },
  { id: 'sessionEvents', method: 'GET', paths: ['/v1/sessions/:id/events'], effect: 'stream' },
  { id: 'ephemerals', method: 'GET', paths: ['/v1/sessions/:id/ephemerals'], effect: 'read' },
  { id: 'addWatch', method: 'POST', paths: ['/v1/sessions/:id/watches'], effect: 'write' },
  { id: 'removeWatches', method: 'DELETE', paths: ['/v1/sessions/:id/watches'], effect: 'write' },
  { id: 'sync', method: 'POST', paths: under('/v1/sync'), effect: 'read' },
  { id: 'watchStream', method: 'GET', paths: under('/v1/watch'), effect: 'stream' },
  { id: 'health', method: 'GET', paths: ['/healthz'], effect: 'read' },
  { id: 'ready', method: 'GET', paths: ['/readyz'], effect: 'read' },
  { id: 'metrics', method: 'GET', paths: ['/metrics'], effect: 'read' },
  { id: 'cluster', method: 'GET', paths: ['/v1/cluster'], effect: 'read' },
  // Leadership transfer (routes/cluster-leader.ts): an operator's act, superuser only.
  { id: 'transferLeader', method: 'POST', paths: ['/v1/cluster/leader'], effect: 'write' },
  // Membership changes (routes/cluster-members.ts): an operator's act, like a transfer.
  { id: 'listMembers', method: 'GET', paths: ['/v1/cluster/members'], effect: 'read' },
  { id: 'addMember', method: 'POST', paths: ['/v1/cluster/members'], effect: 'write' },
  { id: 'promoteMember', method: 'POST', paths: ['/v1/cluster/members/:id/promote'], effect: 'write' },
  { id: 'removeMember', method: 'DELETE', paths: ['/v1/cluster/members/:id'], effect: 'write' },
  { id: 'replaceMember', method: 'POST', paths: ['/v1/cluster/members/:id/replace'], effect: 'write' },
  { id: 'backup', method: 'GET', paths: ['/v1/admin/backup'], effect: 'stream' },
  { id: 'spec', method: 'GET', paths: ['/openapi.yaml'], effect: 'read' },
  { id: 'docs', method: 'GET', paths: ['/docs'], effect: 'read' },
  // The reference's files (routes/docs.ts): Swagger UI's, from the installed package; they hold no data.
  { id: 'docsAsset', method: 'GET', paths: ['/docs/assets/:file'], effect: 'read' },
  // The web console's files (routes/ui.ts): they hold no data, the page reads through the API.
  { id: 'ui', method: 'GET', paths: under('/ui'), effect: 'read' },
];

/** A Hono pattern as a matcher of a URL's path (a trailing slash allowed, as the app is not strict). */
function matcherOf(pattern: string): RegExp {
  const body = pattern.replace(/\/\*$/, '').split('/').map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.]/g, '\\.'))).join('/');
  return pattern.endsWith('/*') ? new RegExp(`^${body}(/|$)`) : new RegExp(`^${body}/?$`);
}

interface PathMethods {
  readonly matches: RegExp;
  readonly allow: string;
}

/** Each distinct path pattern with the methods it takes, for the method guard. */
const PATHS: readonly PathMethods[] = (() => {
  const byPath = new Map<string, Set<string>>();
  for (const route of ROUTES) {
    for (const path of route.paths) {
      const methods = byPath.get(path) ?? new Set<string>();
      methods.add(route.method);
      if (route.method === 'GET') methods.add('HEAD');
      byPath.set(path, methods);
    }
  }
  return [...byPath].map(([path, methods]) => ({ matches: matcherOf(path), allow: [...methods].join(', ') }));
})();

/** The methods a URL path takes (`Allow`), or undefined when no route has the path. */
export function allowedMethods(pathname: string): string | undefined {
  return PATHS.find(({ matches }) => matches.test(pathname))?.allow;
}

/** A route the direct paths take: its znode call and its name in metrics. */
export interface DirectRoute {
  readonly route: RouteSpec;
  readonly call: ZnodeCall;
  readonly name: string;
}

interface Prefix {
  readonly prefix: string;
  /** By method: the route of the prefix itself, and of a path below it. */
  readonly exact: ReadonlyMap<string, DirectRoute>;
  readonly below: ReadonlyMap<string, DirectRoute>;
}

/** The direct routes by path prefix, made once (a lookup per request allocates nothing). */
const PREFIXES: readonly Prefix[] = (() => {
  const prefixes = new Map<string, { exact: Map<string, DirectRoute>; below: Map<string, DirectRoute> }>();
  for (const route of ROUTES) {
    if (route.call === undefined) continue;
    const [prefix, below] = route.paths;
    const entry = prefixes.get(prefix!) ?? { exact: new Map(), below: new Map() };
    const methods = route.method === 'GET' ? ['GET', 'HEAD'] : [route.method];
    for (const method of methods) {
      entry.exact.set(method, { route, call: route.call, name: prefix! });
      entry.below.set(method, { route, call: route.call, name: below! });
    }
    prefixes.set(prefix!, entry);
  }
  return [...prefixes].map(([prefix, { exact, below }]) => ({ prefix, exact, below }));
})();

/** The direct route for a request's method and raw path, if one takes it. */
export function directRouteOf(method: string, path: string): DirectRoute | undefined {
  for (const { prefix, exact, below } of PREFIXES) {
    if (!path.startsWith(prefix)) continue;
    if (path.length === prefix.length) return exact.get(method);
    if (path[prefix.length] === '/') return below.get(method);
  }
  return undefined;
}

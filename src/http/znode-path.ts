/**
 * Znode paths in URLs: `/v1/znodes` is `/`, `/v1/znodes/a/b` is `/a/b`, and `%2F` is a
 * separator like `/` (generated clients encode slashes in path parameters). The znode path is
 * taken from the very path the request was routed by — the app's parsed URL, the direct paths'
 * target as sent — never from another reading of the target: the two once differed, and an
 * absolute-form target (`DELETE http://x/v1/znodes/a`) named `/v1/znodes/a`. The edge checks
 * (edge/request-target.ts) refuse what URL parsing would rewrite (absolute form, `.` and `..`
 * segments however spelt, backslashes), so both readings agree for every target that gets here.
 */
import type { Context } from 'hono';
import { pathError } from '../core/tree/path.ts';
import { badRequest } from './errors.ts';
import { routedPath } from './request-env.ts';

/** The path the request was routed by, still percent-encoded (the calls' `rawPath`). */
export function rawPathname(c: Context): string {
  return routedPath(c);
}

/** The znode path a request names under `prefix` (e.g. '/v1/znodes'), decoded, not yet validated. */
export function requestedPath(c: Context, prefix: string): string {
  return requestedPathOf(rawPathname(c), prefix);
}

/** The znode path in a raw (still percent-encoded) request path under `prefix`. */
export function requestedPathOf(raw: string, prefix: string): string {
  // Hono routes on the path with unreserved escapes decoded (`/v1/%7Anodes/a` is /v1/znodes/a):
  // a prefix not spelt plainly would be sliced in the wrong place.
  if (!raw.startsWith(prefix) || (raw.length > prefix.length && raw.charCodeAt(prefix.length) !== 47)) {
    throw badRequest(`the path must start with ${prefix} as it is spelt, not percent-encoded`);
  }
  const rest = raw.slice(prefix.length);
  if (rest === '' || rest === '/') return '/';
  let decoded: string;
  // Always decoded, even without a %: that makes a string of its own. A slice would be a view of
  // the request's whole head, and the tree keeps the path: 1M znodes held ~380 MB more that way.
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    throw badRequest('the path is not valid percent-encoding');
  }
  return decoded.startsWith('/') ? decoded : `/${decoded}`;
}

/** The validated znode path a request names (for everything but sequential creates). */
export function znodePath(c: Context, prefix: string): string {
  return validZnodePath(requestedPath(c, prefix));
}

/** `path` if ZooKeeper's rules allow it, else a 400. */
export function validZnodePath(path: string): string {
  const invalid = pathError(path);
  if (invalid) throw badRequest(`invalid path: ${invalid}`, path);
  return path;
}

/** `Location` of a created node: each name percent-encoded. */
export function locationOf(path: string): string {
  return `/v1/znodes${path.split('/').map(encodeURIComponent).join('/')}`;
}

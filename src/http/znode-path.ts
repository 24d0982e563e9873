/**
 * Znode paths in URLs: `/v1/znodes` is `/`, `/v1/znodes/a/b` is `/a/b`, and `%2F` is a
 * separator like `/` (generated clients encode slashes in path parameters). The raw request
 * target is used where the server has it, so `.` and `..` segments reach ZooKeeper's rules
 * instead of being normalised away by URL parsing.
 */
import type { Context } from 'hono';
import { pathError } from '../core/tree/path.ts';
import { badRequest } from './errors.ts';
import { rawTarget } from './request-env.ts';

export function rawPathname(c: Context): string {
  const target = rawTarget(c);
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

/** The znode path a request names under `prefix` (e.g. '/v1/znodes'), decoded, not yet validated. */
export function requestedPath(c: Context, prefix: string): string {
  return requestedPathOf(rawPathname(c), prefix);
}

/** The znode path in a raw (still percent-encoded) request path under `prefix`. */
export function requestedPathOf(raw: string, prefix: string): string {
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

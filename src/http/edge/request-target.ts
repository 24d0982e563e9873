/**
 * The request target every carrier accepts, checked before anything routes or reads it. Hono
 * routes on the WHATWG-parsed URL while the direct paths route on the target as sent; the two
 * agree only when URL parsing has nothing to rewrite. So what it would rewrite is refused (400
 * BADARGUMENTS), on every carrier alike:
 *
 * - absolute-form targets (`http://host/v1/…`): the authority would be the target's, not the
 *   Host header's, and an old slice of the raw target named another znode (`DELETE
 *   http://x/v1/znodes/a` deleted `/v1/znodes/a`). Only `OPTIONS *` (asterisk-form) passes.
 * - dot segments, raw or percent-encoded (`.`, `..`, `%2e`, `.%2E`…), also between `%2F`
 *   separators: URL parsing resolves them (`/v1/%2e%2e/v1/znodes/a` routed to `/v1/znodes/a`),
 *   and ZooKeeper refuses `.` and `..` path components anyway, so nothing legitimate is lost.
 * - a backslash in the path (URL parsing makes it a `/`; send `%5C` for a backslash in a name)
 *   and a fragment (`#`; URL parsing drops it; send `%23`).
 */
import { zkError, type ZkError } from '../../core/errors.ts';

/** A target split at its first `?`: the path still percent-encoded, the query without the `?`. */
export interface RequestTarget {
  readonly path: string;
  readonly search: string;
}

export function splitTarget(target: string): RequestTarget {
  const q = target.indexOf('?');
  return q === -1 ? { path: target, search: '' } : { path: target.slice(0, q), search: target.slice(q + 1) };
}

/** A segment of only dots and `%2e`s, one or two of them. */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;
/** Segment separators inside a znode path: `/`, and `%2F` (a separator there too, see znode-path.ts). */
const SEPARATOR = /\/|%2f/i;

/** Whether a raw path has a `.` or `..` segment, however it is spelt. */
export function hasDotSegment(path: string): boolean {
  // Most paths have neither a dot nor an escape: one scan each, no split.
  if (!path.includes('.') && !/%2e/i.test(path)) return false;
  return path.split(SEPARATOR).some((segment) => DOT_SEGMENT.test(segment));
}

const refused = (message: string): ZkError => zkError('BADARGUMENTS', message);

/** Why a request target is refused (400 BADARGUMENTS), or undefined when every carrier may route it. */
export function targetRefusal(method: string, target: string): ZkError | undefined {
  if (target.charCodeAt(0) !== 47 /* / */) {
    if (target === '*' && method === 'OPTIONS') return undefined;
    return refused('the request target must be a path (origin form, e.g. /v1/znodes/a), not an absolute URL');
  }
  if (target.includes('#')) return refused('the request target has a fragment (#); percent-encode it (%23) in a name');
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (path.includes('\\')) return refused('the request path has a backslash; percent-encode it (%5C) in a name');
  if (hasDotSegment(path)) return refused('the request path has a "." or ".." segment (ZooKeeper paths have none)');
  return undefined;
}

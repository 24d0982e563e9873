/**
 * getChildren answers, bounded. ZooKeeper answers every child name at once, bounded only by
 * jute.maxbuffer (a node with too many children cannot be listed at all); here an answer holds
 * at most `limit` names (`?limit=`, by default and at most --max-children-per-page), sorted, and
 * says `more: true` when names follow: the next page is asked with `?after=<the last name>`.
 * Pages are read from the node as it is at each call (like any read), so a child created or
 * deleted between pages shows or not by where its name sorts: none is repeated, since the
 * cursor is a name, not an offset. A watch set by a paged listing is ZooKeeper's child watch on
 * the node, whatever page asked for it.
 */
import { badRequest } from './errors.ts';

export interface PageQuery {
  readonly limit: number;
  /** Only names that sort after this one; undefined from the first name. */
  readonly after: string | undefined;
}

/** `?limit=` and `?after=`, checked before the read (a bad one sets no watch). */
export function pageQueryOf(rawLimit: string | undefined, after: string | undefined, maxPerPage: number): PageQuery {
  let limit = maxPerPage;
  if (rawLimit !== undefined) {
    limit = /^\d{1,9}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= maxPerPage)) throw badRequest(`limit must be an integer from 1 to ${maxPerPage}, got "${rawLimit}"`);
  }
  if (after !== undefined && (after === '' || after.includes('/'))) throw badRequest('after must be a child\'s name (the last name of the page before)');
  return { limit, after };
}

/** The page of `names` (sorted by UTF-16 code unit, as the tree lists them) that `query` asks for. */
export function childrenPage(names: readonly string[], query: PageQuery): { readonly children: readonly string[]; readonly more: boolean } {
  let from = 0;
  if (query.after !== undefined) {
    // The first name after the cursor: binary search, as names sort with `<`.
    let high = names.length;
    while (from < high) {
      const middle = (from + high) >>> 1;
      if (names[middle]! <= query.after) from = middle + 1;
      else high = middle;
    }
  }
  const to = Math.min(names.length, from + query.limit);
  return { children: from === 0 && to === names.length ? names : names.slice(from, to), more: to < names.length };
}

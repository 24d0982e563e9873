/**
 * `GET /v1/sessions`: the ensemble's live sessions, for operators (ZooKeeper's `cons` and `dump`
 * four-letter words: sessions, and ephemerals by session). Each is `{id, timeoutMs, identities,
 * ephemeralCount, ephemerals}`, sorted by id, a page at a time (`?limit=`, `?after=<id>`).
 *
 * Invariants:
 * - Never a token, nor its hash: the listing is built from the summary the backend gives
 *   (Sessions.list), which holds neither; digest identities show as `digest:user:x`, as getACL
 *   shows them to a reader without ADMIN, so no one can try passwords offline against them.
 * - Who may: it reveals who is connected and from where, so the operators' rule (operator-only.ts):
 *   the superuser where there is one, no one on a node that checks identities without one; on an
 *   open node a caller on loopback or of the admin listener, or anyone with --open-operator-routes.
 *   It follows /v1/cluster: with --admin-listen it is served there only.
 * - Ephemeral paths are names in the tree: a path is listed only when the caller may READ its
 *   parent (what getChildren asks); `ephemeralCount` counts them all.
 * - Bounded: at most SESSIONS_PER_PAGE_MAX sessions per answer, EPHEMERALS_SHOWN_MAX paths each.
 */
import type { Context } from 'hono';
import type { Caller, SessionSummary } from '../../backend/backend.ts';
import { parentOf } from '../../core/tree/path.ts';
import type { AppDeps } from '../app-deps.ts';
import { callerOfContext } from '../caller.ts';
import { badRequest, errorResponse } from '../errors.ts';
import { operatorRefusal } from '../operator-only.ts';

/** Sessions per answer, at most (`?limit=`); the default is SESSIONS_PER_PAGE_DEFAULT. */
export const SESSIONS_PER_PAGE_MAX = 500;
export const SESSIONS_PER_PAGE_DEFAULT = 100;
/** Ephemeral paths listed per session, at most (the first ones, sorted); `ephemeralCount` says how many there are. */
export const EPHEMERALS_SHOWN_MAX = 100;

/** An identity as the listing shows it: a digest's hash replaced by `x` (check.ts's visibleAcl does the same). */
export function shownIdentity(identity: string): string {
  return identity.startsWith('digest:') ? identity.replace(/^(digest:[^:]*):.*$/s, '$1:x') : identity;
}

function pageOf(c: Context): { readonly limit: number; readonly after: number } {
  const rawLimit = c.req.query('limit');
  const rawAfter = c.req.query('after');
  let limit = SESSIONS_PER_PAGE_DEFAULT;
  if (rawLimit !== undefined) {
    limit = /^\d{1,9}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= SESSIONS_PER_PAGE_MAX)) throw badRequest(`limit must be an integer from 1 to ${SESSIONS_PER_PAGE_MAX}, got "${rawLimit}"`);
  }
  if (rawAfter !== undefined && !/^\d{1,16}$/.test(rawAfter)) throw badRequest(`after must be a session id (decimal digits), got "${rawAfter}"`);
  return { limit, after: rawAfter === undefined ? 0 : Number(rawAfter) };
}

export function sessionListHandlers(deps: AppDeps) {
  const { backend } = deps;

  const entryOf = async (session: SessionSummary, caller: Caller) => {
    const paths = backend.sessions.ephemerals(session.id);
    const readable = new Map<string, boolean>();
    const mayList = async (path: string) => {
      const parent = parentOf(path);
      let may = readable.get(parent);
      if (may === undefined) {
        // A gateway's readNow is a round trip to the ensemble (a promise); the embedded one is not.
        const asked = backend.readNow(parent, caller);
        const node = asked instanceof Promise ? await asked : asked;
        readable.set(parent, (may = node !== undefined && !('code' in node)));
      }
      return may;
    };
    const ephemerals: string[] = [];
    for (const path of paths) {
      if (ephemerals.length >= EPHEMERALS_SHOWN_MAX) break;
      if (await mayList(path)) ephemerals.push(path);
    }
    return {
      id: String(session.id),
      timeoutMs: session.timeoutMs,
      identities: session.identities.map(shownIdentity),
      ephemeralCount: paths.length,
      ephemerals,
    };
  };

  return {
    listSessions: async (c: Context) => {
      const caller = callerOfContext(c);
      const refused = operatorRefusal(deps.config, caller, 'list sessions');
      if (refused) return errorResponse(c, refused);
      const { limit, after } = pageOf(c);
      const following = backend.sessions.list().filter((s) => s.id > after);
      const page = following.slice(0, limit);
      c.header('Cache-Control', 'no-store');
      return c.json({ sessions: await Promise.all(page.map((s) => entryOf(s, caller))), more: following.length > limit });
    },
  };
}

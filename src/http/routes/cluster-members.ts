/**
 * Membership changes at run time (ZooKeeper's reconfig, etcd's `member add/remove`), an
 * operator's act under the same rule as leadership transfer (operator-only.ts):
 * - `GET /v1/cluster/members`: the configuration in force, each member with its role, addresses,
 *   and (on the leader) its lag and whether it answered lately;
 * - `POST /v1/cluster/members` `{id, client, peer, promote?, timeoutMs?}`: adds a learner, then
 *   (unless `promote` is false) promotes it once it caught up;
 * - `POST /v1/cluster/members/{id}/promote`, `DELETE /v1/cluster/members/{id}`;
 * - `POST /v1/cluster/members/{id}/replace` `{id, client, peer}`: add the new member, promote it
 *   once caught up, remove `{id}` (a dead member's replacement).
 * One single-server change at a time through the log (docs/architecture.md). Made on the leader:
 * elsewhere 503 CONNECTIONLOSS naming it. Refusals: 409 NEWCONFIGNOQUORUM (the quorum would be
 * lost, or the learner lags), 503 RECONFIGINPROGRESS (another change under way), 400, 409 NODEEXISTS,
 * 409 RECONFIGDISABLED (a node started without peers cannot add members). A change appended but
 * not committed by `timeoutMs` answers 503 OPERATIONTIMEOUT (it may still commit), one whose
 * leader lost its role meanwhile 503 CONNECTIONLOSS.
 */
import type { Context } from 'hono';
import { isMemberId, parseMemberId } from '../../core/consensus/cluster-config.ts';
import { zkError } from '../../core/errors.ts';
import type { AppDeps } from '../app-deps.ts';
import { readBody } from '../body.ts';
import { callerOfContext } from '../caller.ts';
import { badRequest, errorResponse } from '../errors.ts';
import { operatorRefusal } from '../operator-only.ts';

const BODY_BYTES_MAX = 4096;
const TIMEOUT_MS_DEFAULT = 30_000;
const TIMEOUT_MS_MAX = 300_000;

interface ChangeBody {
  readonly id?: number;
  readonly client?: string;
  readonly peer?: string;
  readonly promote: boolean;
  readonly timeoutMs: number;
}

async function bodyOf(c: Context): Promise<ChangeBody> {
  const bytes = await readBody(c, BODY_BYTES_MAX);
  if (bytes.length === 0) return { promote: true, timeoutMs: TIMEOUT_MS_DEFAULT };
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw badRequest('body must be a JSON object');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badRequest('body must be a JSON object');
  const { id, client, peer, promote, timeoutMs } = raw as Record<string, unknown>;
  if (id !== undefined && !isMemberId(id)) throw badRequest('"id" must be a member id (a positive integer)');
  if (client !== undefined && typeof client !== 'string') throw badRequest('"client" must be host:port');
  if (peer !== undefined && typeof peer !== 'string') throw badRequest('"peer" must be host:port');
  if (promote !== undefined && typeof promote !== 'boolean') throw badRequest('"promote" must be true or false');
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > TIMEOUT_MS_MAX)) {
    throw badRequest(`"timeoutMs" must be an integer in [1, ${TIMEOUT_MS_MAX}]`);
  }
  return {
    ...(id === undefined ? {} : { id }), ...(client === undefined ? {} : { client }), ...(peer === undefined ? {} : { peer }),
    promote: promote ?? true, timeoutMs: timeoutMs ?? TIMEOUT_MS_DEFAULT,
  };
}

function memberIdOf(c: Context): number {
  const raw = c.req.param('id') ?? '';
  const id = parseMemberId(raw);
  if (id === undefined) throw badRequest(`member id must be a positive integer, got ${JSON.stringify(raw)}`);
  return id;
}

function newMemberOf(body: ChangeBody) {
  if (body.id === undefined || body.client === undefined || body.peer === undefined) {
    throw badRequest('the new member needs "id", "client" (host:port) and "peer" (host:port)');
  }
  return { id: body.id, client: body.client, peer: body.peer };
}

export function clusterMembersHandlers(deps: AppDeps) {
  /** The membership service, or the answer why there is none for this caller. */
  const guard = (c: Context, act: string) => {
    const refused = operatorRefusal(deps.config, callerOfContext(c), act);
    if (refused) return errorResponse(c, refused);
    const membership = deps.backend.membership;
    if (membership === undefined) return errorResponse(c, zkError('UNIMPLEMENTED', 'this backend cannot change its membership'));
    return membership;
  };
  const answer = (c: Context, outcome: Awaited<ReturnType<NonNullable<AppDeps['backend']['membership']>['remove']>>) => {
    if ('code' in outcome) return errorResponse(c, outcome);
    return c.json({ index: outcome.index, zxid: String(outcome.zxid), ...outcome.members });
  };
  return {
    listMembers: (c: Context) => {
      const membership = guard(c, 'list the members');
      if (membership instanceof Response) return membership;
      return c.json(membership.list());
    },
    addMember: async (c: Context) => {
      const membership = guard(c, 'change the membership');
      if (membership instanceof Response) return membership;
      const body = await bodyOf(c);
      return answer(c, await membership.add(newMemberOf(body), body.promote, body.timeoutMs));
    },
    promoteMember: async (c: Context) => {
      const membership = guard(c, 'change the membership');
      if (membership instanceof Response) return membership;
      const id = memberIdOf(c);
      const body = await bodyOf(c);
      return answer(c, await membership.promote(id, body.timeoutMs));
    },
    removeMember: async (c: Context) => {
      const membership = guard(c, 'change the membership');
      if (membership instanceof Response) return membership;
      const id = memberIdOf(c);
      return answer(c, await membership.remove(id, TIMEOUT_MS_DEFAULT));
    },
    replaceMember: async (c: Context) => {
      const membership = guard(c, 'change the membership');
      if (membership instanceof Response) return membership;
      const old = memberIdOf(c);
      const body = await bodyOf(c);
      return answer(c, await membership.replace(old, newMemberOf(body), body.timeoutMs));
    },
  };
}

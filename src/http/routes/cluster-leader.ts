/**
 * `POST /v1/cluster/leader` with `{"to": <id>}` (or `{}`: the most caught-up voter): hands
 * leadership over (Raft's TimeoutNow, see docs/architecture.md) from any member, and answers
 * once this member sees the new leader: `{leader, previous}`.
 *
 * Who may: the superuser, on a node that has one (--super-digest); on a node with identities
 * but no superuser, no one (403, saying why); on an open node (no authentication configured at
 * all), a caller on loopback or of the admin listener, or anyone with --open-operator-routes.
 * Moving leadership costs the cluster a moment of refused writes, so it is an operator's act,
 * not a client's. With --admin-listen it is served on the admin listener only.
 */
import type { Context } from 'hono';
import type { Caller } from '../../backend/backend.ts';
import { zkError, type ZkError } from '../../core/errors.ts';
import type { AppDeps } from '../app-deps.ts';
import { readBody } from '../body.ts';
import { callerOfContext } from '../caller.ts';
import { badRequest, errorResponse } from '../errors.ts';
import { operatorRefusal, type IdentityConfig } from '../operator-only.ts';

/** `{"to": 123}` is all a request holds. */
const BODY_BYTES_MAX = 1024;

/** Why `caller` may not move leadership here, if it may not (the operators' rule: operator-only.ts). */
export function transferRefusal(config: IdentityConfig, caller: Caller): ZkError | undefined {
  return operatorRefusal(config, caller, 'move leadership');
}

/** The target of the request body: a member id, or undefined for "the most caught-up voter". */
async function targetOf(c: Context): Promise<number | undefined> {
  const bytes = await readBody(c, BODY_BYTES_MAX);
  if (bytes.length === 0) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw badRequest('body must be a JSON object: {"to": <member id>} or {}');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body must be a JSON object: {"to": <member id>} or {}');
  const to = (body as Record<string, unknown>)['to'];
  if (to === undefined || to === null) return undefined;
  if (typeof to !== 'number' || !Number.isSafeInteger(to) || to < 1) throw badRequest('"to" must be a member id (a positive integer)');
  return to;
}

export function clusterLeaderHandlers(deps: AppDeps) {
  return {
    transferLeader: async (c: Context) => {
      const refused = transferRefusal(deps.config, callerOfContext(c));
      if (refused) return errorResponse(c, refused);
      const transfer = deps.backend.transferLeader?.bind(deps.backend);
      if (transfer === undefined) return errorResponse(c, zkError('UNIMPLEMENTED', 'this backend cannot move leadership'));
      const to = await targetOf(c);
      const outcome = await transfer(to);
      if ('code' in outcome) return errorResponse(c, outcome);
      deps.logger.info({ event: 'leader-transferred', to: to ?? 'most caught-up', leader: outcome.leader, previous: outcome.from }, 'leadership moved on request');
      return c.json({ leader: outcome.leader, previous: outcome.from });
    },
  };
}

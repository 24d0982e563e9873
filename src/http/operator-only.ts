/**
 * Who may use an operator's route (leadership transfer, the sessions listing). One rule, so the
 * routes cannot drift apart:
 * - a node with a superuser (--super-digest): the superuser only;
 * - a node that checks identities but has no superuser: no one (403, saying why);
 * - an open node (no authentication configured at all): a caller on loopback, or any caller of
 *   the admin listener (--admin-listen: these routes are then served there only, and where it
 *   listens is the operator's choice), or anyone when the operator opted in with
 *   --open-operator-routes. Why not anyone by default: on an open node every other route is
 *   anyone's, but moving leadership costs the cluster refused writes and the listing shows who is
 *   connected from where; ZooKeeper keeps its `cons`/`dump` words off by default
 *   (4lw.commands.whitelist) for the same reason.
 * A caller whose address is unknown (a request with no socket) is not on loopback.
 * GET /v1/admin/backup has a stricter rule of its own (routes/admin-backup.ts: the superuser
 * only, on every node), since a backup holds every znode whatever its ACL.
 */
import type { Caller } from '../backend/backend.ts';
import type { Config } from '../config.ts';
import { SUPER_IDENTITY } from '../core/acl/check.ts';
import { zkError, type ZkError } from '../core/errors.ts';

export type IdentityConfig = Pick<Config, 'superDigest' | 'authRequired' | 'jwtJwks' | 'tlsClientAuth' | 'adminListen' | 'openOperatorRoutes'>;

/** 127.0.0.0/8 and ::1, as the authenticator normalises them (IPv4-mapped IPv6 already unwrapped). */
export function isLoopbackAddress(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === '::1';
}

/** Why `caller` may not `act` (e.g. "move leadership") here, if it may not. */
export function operatorRefusal(config: IdentityConfig, caller: Caller, act: string): ZkError | undefined {
  if (config.superDigest !== '') {
    return caller.identities.includes(SUPER_IDENTITY) ? undefined : zkError('NOAUTH', `only the superuser may ${act}`);
  }
  const identified = config.authRequired || config.jwtJwks !== '' || config.tlsClientAuth !== 'none';
  if (identified) return zkError('NOAUTH', `this node checks identities but has no superuser (--super-digest): no one may ${act}`);
  if (config.openOperatorRoutes || config.adminListen !== '' || isLoopbackAddress(caller.address)) return undefined;
  return zkError('NOAUTH', `on a node without authentication only a caller on loopback may ${act} (or use --admin-listen, --super-digest, or opt in with --open-operator-routes)`);
}

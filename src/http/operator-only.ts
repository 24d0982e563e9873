/**
 * Who may use an operator's route (leadership transfer, the sessions listing): the superuser, on
 * a node that has one (--super-digest); on a node that checks identities but has no superuser, no
 * one (403, saying why); on an open node (no authentication configured at all), anyone, as every
 * other route there. One rule, so the routes cannot drift apart.
 */
import type { Caller } from '../backend/backend.ts';
import type { Config } from '../config.ts';
import { SUPER_IDENTITY } from '../core/acl/check.ts';
import { zkError, type ZkError } from '../core/errors.ts';

export type IdentityConfig = Pick<Config, 'superDigest' | 'authRequired' | 'jwtJwks' | 'tlsClientAuth'>;

/** Why `caller` may not `act` (e.g. "move leadership") here, if it may not. */
export function operatorRefusal(config: IdentityConfig, caller: Caller, act: string): ZkError | undefined {
  if (config.superDigest !== '') {
    return caller.identities.includes(SUPER_IDENTITY) ? undefined : zkError('NOAUTH', `only the superuser may ${act}`);
  }
  const identified = config.authRequired || config.jwtJwks !== '' || config.tlsClientAuth !== 'none';
  if (identified) return zkError('NOAUTH', `this node checks identities but has no superuser (--super-digest): no one may ${act}`);
  return undefined;
}

/**
 * The checks every carrier runs first, before routing, authenticating or reading a body: the
 * request target (request-target.ts) and the Host (host-guard.ts). The Hono app runs them as
 * its first middleware (app.ts), the direct paths in answerDirect (fast-path.ts), which the wire
 * path (wire/) calls too — one function, so no carrier can be a way around them.
 */
import type { Config } from '../../config.ts';
import type { ZkError } from '../../core/errors.ts';
import { hostPolicyOf, hostRefusal, type HostPolicy } from './host-guard.ts';
import { targetRefusal } from './request-target.ts';

const policies = new WeakMap<Config, HostPolicy>();

/** The node's Host policy, made once per configuration (every request reads it). */
export function hostPolicy(config: Config): HostPolicy {
  let policy = policies.get(config);
  if (policy === undefined) {
    policy = hostPolicyOf(config.host, config.allowedHosts);
    policies.set(config, policy);
  }
  return policy;
}

/** Why a request is refused at the edge (400 for its target, 403 for its Host), or undefined. */
export function edgeRefusal(config: Config, method: string, target: string, host: string | undefined): ZkError | undefined {
  return targetRefusal(method, target) ?? hostRefusal(hostPolicy(config), host);
}

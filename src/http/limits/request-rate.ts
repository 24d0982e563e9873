/**
 * Requests per second per caller (--max-requests-per-second-per-caller, off by default), checked
 * in the authenticate step every carrier runs (caller.ts), so the Hono app, the direct path and
 * the wire path count alike. A caller is its limit key (caller-key.ts); a request whose
 * credential failed is counted against its address, so failing credentials are limited too.
 * The probes (/healthz, /readyz) are never limited: an orchestrator must see a busy node alive.
 */
import { normalAddress, type Authenticated } from '../../auth/authenticator.ts';
import type { AppDeps } from '../app-deps.ts';
import { limitKeyOf } from './caller-key.ts';
import { RateLimiter } from './rate-limit.ts';
import { throttled } from './refusal.ts';

const PROBES = new Set(['/healthz', '/readyz']);
const limiters = new WeakMap<AppDeps, RateLimiter>();

function limiterOf(deps: AppDeps): RateLimiter {
  let limiter = limiters.get(deps);
  if (!limiter) {
    const ratePerSecond = deps.config.maxRequestsPerSecondPerCaller;
    const burst = deps.config.requestBurstPerCaller > 0 ? deps.config.requestBurstPerCaller : ratePerSecond;
    limiters.set(deps, (limiter = new RateLimiter({ ratePerSecond, burst, nowMs: deps.nowMs })));
  }
  return limiter;
}

/** `answer`, or THROTTLEDOP when its caller is over its rate; `address` is the connection's peer. */
export function withinRequestRate(deps: AppDeps, answer: Authenticated, address: string | undefined, pathname: string): Authenticated {
  if (deps.config.maxRequestsPerSecondPerCaller <= 0 || PROBES.has(pathname)) return answer;
  const key = 'code' in answer ? `ip:${normalAddress(address)}` : limitKeyOf(answer.auth);
  const waitMs = limiterOf(deps).take(key);
  if (waitMs === 0) return answer;
  deps.metrics.limitRefused('requests_per_caller');
  return throttled('requests_per_caller', `at most ${deps.config.maxRequestsPerSecondPerCaller} requests a second per caller; retry in ${waitMs} ms`);
}

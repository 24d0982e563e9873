/**
 * A limit's refusal: THROTTLEDOP (429 with Retry-After) that says which limit refused, so the
 * HTTP layer counts it under that kind in corral_limit_refusals_total. The kind rides on the
 * error value itself; a refusal that crossed a process boundary (a follower's forwarded open,
 * refused by the leader) arrives without it and is counted under the caller's default.
 */
import { zkError, type ZkError } from '../../core/errors.ts';
import { LIMIT_KINDS, type LimitKind } from '../../observability/metrics.ts';

export interface LimitRefusal extends ZkError {
  readonly code: 'THROTTLEDOP';
  readonly limit: LimitKind;
}

export function throttled(limit: LimitKind, message: string): LimitRefusal {
  return { ...zkError('THROTTLEDOP', message), code: 'THROTTLEDOP', limit };
}

/** The limit a THROTTLEDOP names, else `fallback`; undefined for any other error. */
export function limitOf(error: ZkError, fallback: LimitKind): LimitKind | undefined {
  if (error.code !== 'THROTTLEDOP') return undefined;
  const limit = (error as Partial<LimitRefusal>).limit;
  return limit !== undefined && (LIMIT_KINDS as readonly string[]).includes(limit) ? limit : fallback;
}

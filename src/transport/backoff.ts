/** Redial delays for a lost peer link. */

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 50, maxMs: 2000 };

/**
 * The delay before retry `attempt` (0 for the first): the step doubles from `initialMs` up to
 * `maxMs`, and the delay is drawn from the upper half of the step ("equal jitter"), so members
 * that lost each other at the same moment do not redial in lockstep, yet none retries in a tight
 * loop.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number): number {
  const stepMs = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return stepMs / 2 + random() * (stepMs / 2);
}

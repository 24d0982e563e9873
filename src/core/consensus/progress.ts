/** The leader's view of one follower's log: what is known to match, and what to send next. */
export interface Progress {
  /** Highest index known to be in the follower's log (0: none known). */
  match: number;
  /** Next index to send. */
  next: number;
  /** Heard from since the last check-quorum round. */
  recentActive: boolean;
  /** Probing: one append in flight until the follower's position is known. */
  probing: boolean;
  /**
   * The index of the checkpoint sent to the follower (0: none). Appends pause until it answers
   * or `snapshotTicks` runs out: a checkpoint can be large, and resending it on every heartbeat
   * would bury the follower that is installing it.
   */
  pendingSnapshot: number;
  snapshotTicks: number;
  /** The leader's tick count when the follower last answered (-Infinity: never, in this term). */
  heardAt: number;
}

export function newProgress(lastIndex: number, heardAt: number): Progress {
  return { match: 0, next: lastIndex + 1, recentActive: true, probing: true, pendingSnapshot: 0, snapshotTicks: 0, heardAt };
}

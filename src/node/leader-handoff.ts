/**
 * Leadership transfer as the node offers it (the core does the protocol: raft.ts transferLeader):
 * an operator's request (POST /v1/cluster/leader) and a leader's graceful stop both start one
 * here and wait, bounded, until this member sees another leader. Waits are settled on the
 * consensus ticks (no timers of their own); a closing node ends them all.
 *
 * Outcomes are values: the new leader, or a ZkError (BADARGUMENTS for a target that cannot lead,
 * CONNECTIONLOSS when no leader is known, OPERATIONTIMEOUT when leadership did not move in time).
 */
import { zkError, type ZkError } from '../core/errors.ts';
import type { Status } from '../core/consensus/types.ts';

export interface HandoffDeps {
  status(): Status;
  /** Asks the core to transfer (0: the leader picks its most caught-up voter); false when no leader is known. */
  transfer(to: number): boolean;
  /** Whether `id` is a member that may lead (a voter). */
  roleOf(id: number): 'voter' | 'observer' | undefined;
  /** How many members vote now (membership changes move it): with one, there is no one to hand leadership to. */
  voterCount(): number;
  nowMs(): number;
}

export interface Handoff {
  /** The leader as this member now sees it. */
  readonly leader: number;
  /** The leader when the transfer began. */
  readonly from: number;
}

interface Waiting {
  readonly from: number;
  readonly to: number;
  readonly deadlineMs: number;
  resolve(outcome: Handoff | ZkError): void;
}

/** Transfers waited on at once, at most: an operator's retries cannot pile up. */
const WAITING_MAX = 16;

export class LeaderHandoff {
  private waiting: Waiting[] = [];

  constructor(private readonly deps: HandoffDeps) {}

  /** Hands leadership to voter `to` (undefined: the most caught-up one) and waits up to `timeoutMs` for it to move. */
  transfer(to: number | undefined, timeoutMs: number): Promise<Handoff | ZkError> {
    const refused = this.refusal(to);
    if (refused) return Promise.resolve(refused);
    const { leader } = this.deps.status();
    if (to === leader) return Promise.resolve({ leader, from: leader });
    if (this.waiting.length >= WAITING_MAX) return Promise.resolve(zkError('THROTTLEDOP', 'too many leadership transfers waited on; retry later'));
    if (!this.deps.transfer(to ?? 0)) return Promise.resolve(zkError('CONNECTIONLOSS', 'no leader is known; retry once one is elected'));
    return new Promise((resolve) => {
      this.waiting.push({ from: leader, to: to ?? 0, deadlineMs: this.deps.nowMs() + timeoutMs, resolve });
    });
  }

  private refusal(to: number | undefined): ZkError | undefined {
    if (this.deps.voterCount() < 2) return zkError('BADARGUMENTS', 'this cluster has one voter: there is no one to hand leadership to');
    if (to !== undefined) {
      const role = this.deps.roleOf(to);
      if (role === undefined) return zkError('BADARGUMENTS', `member ${to} is not in the cluster`);
      if (role === 'observer') return zkError('BADARGUMENTS', `member ${to} is an observer: only voters may lead`);
    }
    if (this.deps.status().leader === 0) return zkError('CONNECTIONLOSS', 'no leader is known; retry once one is elected');
    return undefined;
  }

  /** On every consensus tick: settles the waits whose leader moved or whose time is up. */
  tick(): void {
    if (this.waiting.length === 0) return;
    const { leader } = this.deps.status();
    const now = this.deps.nowMs();
    this.waiting = this.waiting.filter((w) => {
      if (leader !== 0 && leader !== w.from) {
        w.resolve({ leader, from: w.from });
        return false;
      }
      if (now < w.deadlineMs) return true;
      const target = w.to === 0 ? 'the most caught-up voter' : `member ${w.to}`;
      w.resolve(zkError('OPERATIONTIMEOUT', `leadership did not move from member ${w.from} to ${target} in time; the leader takes writes again`));
      return false;
    });
  }

  /** The node is closing: nobody will see the outcome here. */
  close(): void {
    for (const w of this.waiting) w.resolve(zkError('CONNECTIONLOSS', 'this member is shutting down'));
    this.waiting = [];
  }
}

/**
 * A follower's proposals in flight to the leader over the peer link, each waiting for the
 * leader's `{zxid, result}`, then for this member to apply that zxid (read-your-writes here).
 * The link is best effort, so a proposal whose answer can no longer come — the link to the
 * leader dropped, the leader changed, the deadline passed, the message could not be sent — ends
 * with CONNECTIONLOSS: its outcome is unknown (unless it certainly never left), as with a
 * ZooKeeper client's, and a retry with the same request id is applied at most once.
 *
 * Invariants: every proposal settles by its deadline (a timer per proposal); an answer settles
 * only the proposal of its id, and only from the member it was sent to (a late, duplicated or
 * foreign answer is ignored); ids are unique across restarts (a nonce per incarnation).
 */
import { randomBytes } from 'node:crypto';
import { zkError } from '../../core/errors.ts';
import type { SendOutcome } from '../../transport/peer-transport.ts';
import type { Timers } from '../timers.ts';
import type { ProposalOutcome, ProposalRequest } from './proposal.ts';

interface Pending {
  readonly leader: number;
  readonly deadlineMs: number;
  readonly resolve: (outcome: ProposalOutcome) => void;
  /** Stops its deadline's timer. */
  cancel: () => void;
}

export interface ProposalForwarderOptions {
  /** Puts the proposal with its id on the link to `to` (the caller encodes it). */
  readonly send: (to: number, id: string, request: ProposalRequest) => SendOutcome;
  readonly nowMs: () => number;
  /** Bounds each proposal by its deadline (real timers; the simulation's clock). */
  readonly timers: Timers;
  /** Resolves once this member applied `zxid`; rejects after `timeoutMs` (NodeHost.waitForApplied). */
  readonly waitForApplied: (zxid: number, timeoutMs: number) => Promise<void>;
  /** How long an answered proposal waits for this member to apply it, at most (config.minZxidWaitMs). */
  readonly appliedWaitMs: number;
  /** This incarnation's id prefix; random by default. */
  readonly nonce?: string;
}

export class ProposalForwarder {
  private readonly pending = new Map<string, Pending>();
  private readonly nonce: string;
  private seq = 0;

  constructor(private readonly options: ProposalForwarderOptions) {
    this.nonce = options.nonce ?? randomBytes(6).toString('hex');
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends `request` to `leader`; resolves with its outcome, or CONNECTIONLOSS by its deadline at the latest. */
  forward(leader: number, request: ProposalRequest): Promise<ProposalOutcome> {
    const { nowMs, send, timers } = this.options;
    const leftMs = request.deadlineMs - nowMs();
    if (leftMs <= 0) return Promise.resolve(lost('the request\'s deadline passed before it was sent to the leader; it was not applied'));
    const id = `${this.nonce}.${++this.seq}`;
    const sent = send(leader, id, request);
    if (sent !== 'sent') return Promise.resolve(lost(`could not send it to the leader (${sent}); it was not applied`));
    return new Promise((resolve) => {
      const pending: Pending = { leader, deadlineMs: request.deadlineMs, resolve, cancel: () => {} };
      this.pending.set(id, pending);
      pending.cancel = timers.after(leftMs, () => this.end(id, 'the leader did not answer by the request\'s deadline; it may or may not be applied'));
    });
  }

  /** The leader's answer; one to no proposal of ours (late, duplicated, or from another member) is ignored. */
  answered(from: number, id: string, outcome: ProposalOutcome): void {
    const waiting = this.pending.get(id);
    if (!waiting || waiting.leader !== from) return;
    this.pending.delete(id);
    waiting.cancel();
    if (!outcome.ok) return waiting.resolve(outcome);
    void this.appliedHere(outcome.zxid, waiting.deadlineMs).then(() => waiting.resolve(outcome));
  }

  /** The link to `peer` went down: what was sent on it may never be answered. */
  linkDown(peer: number): void {
    this.fail((p) => p.leader === peer, 'lost the connection to the leader; the request may or may not be applied');
  }

  /** The leader is now `leader` (0: none known): proposals sent to another can get no useful answer. */
  leaderIs(leader: number): void {
    this.fail((p) => p.leader !== leader, 'the leader changed; the request may or may not be applied');
  }

  /** Shutting down: nothing more will be answered. */
  close(): void {
    this.fail(() => true, 'this member is shutting down; the request may or may not be applied');
  }

  /**
   * Waits, bounded by the deadline and by appliedWaitMs, until this member applied `zxid`; past
   * the bound the proposal still stands (the caller's answer carries its zxid, so a read here
   * with it as Zk-Min-Zxid waits for it).
   */
  private appliedHere(zxid: number, deadlineMs: number): Promise<void> {
    const { timers, nowMs, waitForApplied, appliedWaitMs } = this.options;
    const leftMs = Math.min(appliedWaitMs, deadlineMs - nowMs());
    if (leftMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const cancel = timers.after(leftMs, resolve);
      const done = () => {
        cancel();
        resolve();
      };
      waitForApplied(zxid, leftMs).then(done, done);
    });
  }

  private end(id: string, why: string): void {
    const waiting = this.pending.get(id);
    if (!waiting) return;
    this.pending.delete(id);
    waiting.cancel();
    waiting.resolve(lost(why));
  }

  private fail(which: (p: Pending) => boolean, why: string): void {
    if (this.pending.size === 0) return;
    for (const [id, p] of this.pending) if (which(p)) this.end(id, why);
  }
}

function lost(message: string): ProposalOutcome {
  return { ok: false, error: zkError('CONNECTIONLOSS', message) };
}

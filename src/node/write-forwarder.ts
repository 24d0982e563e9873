/**
 * A follower's writes in flight to the leader over the peer link, each waiting for the leader's
 * answer. The link is best effort, so a request whose answer can no longer come — the link to
 * the leader dropped, the leader changed, the deadline passed, the message could not be sent —
 * ends with `lost`: its outcome is unknown, as with a ZooKeeper client's CONNECTIONLOSS, and a
 * retry with the same Zk-Request-Id is applied at most once.
 */
import { randomBytes } from 'node:crypto';
import type { SendOutcome } from '../transport/peer-transport.ts';
import type { ForwardedRequest, ForwardedResponse } from './forward-codec.ts';

export type ForwardOutcome =
  | { readonly ok: true; readonly response: ForwardedResponse }
  | { readonly ok: false; readonly lost: string };

interface Pending {
  readonly leader: number;
  readonly deadlineMs: number;
  readonly resolve: (outcome: ForwardOutcome) => void;
}

export interface WriteForwarderOptions {
  /** Puts the request with its id on the link to `to` (the caller encodes it). */
  readonly send: (to: number, id: string, request: ForwardedRequest) => SendOutcome;
  readonly nowMs: () => number;
  readonly timeoutMs: number;
}

export class WriteForwarder {
  private readonly pending = new Map<string, Pending>();
  /** Ids are unique across restarts: a late answer to a request of an earlier run must match nothing. */
  private readonly nonce = randomBytes(6).toString('hex');
  private seq = 0;

  constructor(private readonly options: WriteForwarderOptions) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends `request` to `leader`; resolves with its answer or with why none will come. */
  forward(leader: number, request: ForwardedRequest): Promise<ForwardOutcome> {
    const id = `${this.nonce}.${++this.seq}`;
    const sent = this.options.send(leader, id, request);
    if (sent !== 'sent') return Promise.resolve({ ok: false, lost: `could not send to the leader (${sent})` });
    return new Promise((resolve) => {
      this.pending.set(id, { leader, deadlineMs: this.options.nowMs() + this.options.timeoutMs, resolve });
    });
  }

  /** An answer from `from`; one for no request of ours (late, or from another member) is ignored. */
  answered(from: number, id: string, response: ForwardedResponse): void {
    const waiting = this.pending.get(id);
    if (!waiting || waiting.leader !== from) return;
    this.pending.delete(id);
    waiting.resolve({ ok: true, response });
  }

  /** The link to `peer` went down: what was sent on it may never be answered. */
  linkDown(peer: number): void {
    this.fail((p) => p.leader === peer, 'lost the connection to the leader');
  }

  /**
   * Called every consensus tick: ends requests past their deadline, and those sent to a member
   * that is no longer the leader (its answer, if any, could be CONNECTIONLOSS at best).
   */
  tick(leader: number): void {
    const now = this.options.nowMs();
    this.fail((p) => p.leader !== leader, 'the leader changed');
    this.fail((p) => p.deadlineMs <= now, 'the leader did not answer in time');
  }

  /** Shutting down: nothing more will be answered. */
  close(): void {
    this.fail(() => true, 'this member is shutting down');
  }

  private fail(which: (p: Pending) => boolean, why: string): void {
    if (this.pending.size === 0) return;
    for (const [id, p] of this.pending) {
      if (!which(p)) continue;
      this.pending.delete(id);
      p.resolve({ ok: false, lost: why });
    }
  }
}

/**
 * Leader election in Curator's LeaderSelector style: participants queue on a fair Lock at the
 * election path (each watches only its predecessor); the holder is the leader and runs the
 * caller's `takeLeadership(signal, epoch)`; leadership is given up when that function returns
 * (or throws), and the participant queues again if `autoRequeue` (or on `requeue()`). The signal
 * aborts when leadership ends without the function's consent: the session closes or expires, the
 * leader's node is deleted, close() or interruptLeadership(). `hasLeadership()` turns false at
 * that moment, though the lock is released only once the function returns (it must honour the
 * signal). `epoch` is the lock's fencing token: each new leader's is larger.
 *
 * A CorralSession cannot be resumed once ended, so a selector whose session ended closes itself
 * (Curator requeues on its reconnected client): start a new one on a new session.
 */
import { CorralError, znodeUrl } from '../corral-client.ts';
import type { CorralSession } from '../session.ts';
import type { LeadershipListener } from './leader-latch.ts';
import { Lock, type LockLease } from './lock.ts';
import { listChildren, sortedMembers } from './sequential.ts';

export type TakeLeadership = (signal: AbortSignal, epoch: bigint) => Promise<void>;

export interface LeaderSelectorOptions {
  /** This participant's name, stored as its node's data (what participants() shows). */
  readonly id?: string;
  /** Queue again each time leadership is given up (default false: lead once). */
  readonly autoRequeue?: boolean;
  /** Told what takeLeadership threw (when not because its signal aborted) and acquire failures it retries. */
  readonly onError?: (error: unknown) => void;
}

export interface Participant {
  readonly id: string;
  readonly isLeader: boolean;
}

/** Leaderships one selector runs at most before it stops requeueing (a bound on the loop). */
const TURNS_MAX = 1_000_000;
/** Attempts to queue after a failed one (the client's failover gave up), with a growing pause. */
const ACQUIRE_ATTEMPTS_MAX = 5;
const ACQUIRE_RETRY_PAUSE_MS = 200;
const MARKER = 'lock';

export class LeaderSelector {
  private state: 'latent' | 'started' | 'closed' = 'latent';
  private leader = false;
  private currentEpoch: bigint | undefined;
  private running: Promise<void> | undefined;
  private interrupt: AbortController | undefined;
  private readonly closing = new AbortController();
  private readonly listeners = new Set<LeadershipListener>();
  private readonly lock: Lock;

  constructor(readonly session: CorralSession, readonly path: string, private readonly takeLeadership: TakeLeadership, private readonly options: LeaderSelectorOptions = {}) {
    this.lock = new Lock(session, path, { id: options.id ?? '' }); // validates the path
  }

  /** Joins the election (in the background): hasLeadership() and onChange tell when it leads. */
  start(): void {
    if (this.state !== 'latent') throw new CorralError(409, 'BADARGUMENTS', -8, `a LeaderSelector starts once (it is ${this.state})`);
    this.state = 'started';
    this.requeue();
  }

  /** Queues for leadership again; false when already queued or leading, or closed. */
  requeue(): boolean {
    if (this.state !== 'started' || this.running) return false;
    this.running = this.run().finally(() => (this.running = undefined));
    return true;
  }

  hasLeadership(): boolean {
    return this.leader;
  }

  /** The leader's epoch (its lock node's czxid) while this participant leads: a fencing token. */
  get epoch(): bigint | undefined {
    return this.leader ? this.currentEpoch : undefined;
  }

  /** Called with true when leadership starts and false when it ends. */
  onChange(listener: LeadershipListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Aborts the running takeLeadership's signal (it should return; the next participant leads). */
  interruptLeadership(): void {
    this.interrupt?.abort(new CorralError(0, 'SYSTEMERROR', -1, 'leadership interrupted'));
  }

  /** The participants in queue order (the first leads), with their ids. */
  async participants(): Promise<Participant[]> {
    const members = sortedMembers(await listChildren(this.session, this.path), MARKER);
    const found: Participant[] = [];
    for (const name of members) {
      const response = await this.session.request(znodeUrl('/v1/znodes', `${this.path}/${name}`), { headers: { Accept: 'application/octet-stream' } });
      if (!response.ok) {
        await response.body?.cancel(); // gone since the listing: it no longer takes part
        continue;
      }
      found.push({ id: new TextDecoder().decode(await response.arrayBuffer()), isLeader: found.length === 0 && name === members[0] });
    }
    return found;
  }

  /** Leaves the election: a running takeLeadership is signalled, and the lock released once it returns. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closing.abort(new CorralError(410, 'SESSIONEXPIRED', -112, 'the selector is closed'));
    await this.running;
  }

  private async run(): Promise<void> {
    for (let turn = 0; this.state === 'started' && turn < TURNS_MAX; turn++) {
      const lease = await this.queue();
      if (!lease) return;
      await this.lead(lease);
      if (!this.options.autoRequeue) return;
    }
  }

  /** Waits for the lock; retries a few times after a failure the session survived; closes when it did not. */
  private async queue(): Promise<LockLease | undefined> {
    for (let attempt = 1; this.state === 'started'; attempt++) {
      try {
        return await this.lock.acquire({ signal: this.closing.signal });
      } catch (error) {
        if (this.session.ended) this.state = 'closed';
        if (this.state !== 'started') return undefined;
        this.options.onError?.(error);
        if (attempt >= ACQUIRE_ATTEMPTS_MAX) return undefined;
        await new Promise((resolve) => setTimeout(resolve, ACQUIRE_RETRY_PAUSE_MS * attempt));
      }
    }
    return undefined;
  }

  private async lead(lease: LockLease): Promise<void> {
    const interrupt = new AbortController();
    this.interrupt = interrupt;
    const signal = AbortSignal.any([lease.lost, this.closing.signal, interrupt.signal]);
    const endLeadership = () => this.setLeader(false, undefined);
    signal.addEventListener('abort', endLeadership, { once: true });
    this.setLeader(!signal.aborted, lease.token);
    try {
      await this.takeLeadership(signal, lease.token);
    } catch (error) {
      if (!signal.aborted) this.options.onError?.(error);
    } finally {
      signal.removeEventListener('abort', endLeadership);
      endLeadership();
      this.interrupt = undefined;
      if (this.session.ended) this.state = 'closed';
      await lease.release().catch((error: unknown) => this.options.onError?.(error));
    }
  }

  private setLeader(leads: boolean, epoch: bigint | undefined): void {
    if (this.leader === leads) return;
    this.leader = leads;
    this.currentEpoch = epoch;
    for (const listener of [...this.listeners]) listener(leads);
  }
}

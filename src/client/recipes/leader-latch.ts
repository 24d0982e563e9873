/**
 * Leader election in Curator's LeaderLatch style: each participant creates an
 * ephemeral-sequential node `<latch>/_c_<guid>-latch-<seq>` (its id as data); the lowest
 * sequence is the leader; each other participant watches only the node before its own and looks
 * again when it goes. Leadership is given up when the session closes or expires (the node is
 * gone with it, so another participant takes over) and on close(). `epoch` is the leader's node
 * czxid: it grows with each new leader, a fencing token for what the leader writes.
 */
import { CorralError } from '../corral-client.ts';
import type { CorralSession } from '../session.ts';
import { createProtected, deadline, deleteQuietly, listChildren, onSessionEnd, sessionEnded, sortedMembers, waitForDeletion, type Member } from './sequential.ts';

const MARKER = 'latch';
/** Looks after a failed one: a latch that still cannot see the participants keeps its last view. */
const CHECK_ATTEMPTS_MAX = 5;
const CHECK_RETRY_PAUSE_MS = 200;

export type LeadershipListener = (isLeader: boolean) => void;

export class LeaderLatch {
  private state: 'latent' | 'started' | 'closed' = 'latent';
  private leader = false;
  private ours: Member | undefined;
  private readonly listeners = new Set<LeadershipListener>();
  private readonly stopWatching = new AbortController();
  private stopOnEnd: () => void = () => undefined;

  /** `id`: this participant's name, stored as its node's data (what participants() shows). */
  constructor(readonly session: CorralSession, readonly path: string, readonly id = '') {
    if (!path.startsWith('/') || path.endsWith('/')) throw new CorralError(400, 'BADARGUMENTS', -8, `a latch path is an absolute znode path, got "${path}"`);
  }

  /** Joins the election; the answer comes once this participant knows whether it leads. */
  async start(): Promise<void> {
    if (this.state !== 'latent') throw new CorralError(409, 'BADARGUMENTS', -8, `a LeaderLatch starts once (it is ${this.state})`);
    if (this.session.ended) throw sessionEnded(this.session);
    this.state = 'started';
    this.stopOnEnd = onSessionEnd(this.session, () => this.relinquish());
    this.ours = await createProtected(this.session, this.path, MARKER, new TextEncoder().encode(this.id));
    await this.check();
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** The leader's epoch (its node's czxid) while this participant leads. */
  get epoch(): bigint | undefined {
    return this.leader ? this.ours?.czxid : undefined;
  }

  /** Called with true when this participant becomes leader and false when it stops being one. */
  onChange(listener: LeadershipListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once this participant leads; OPERATIONTIMEOUT after `timeoutMs`. */
  async awaitLeadership(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.leader) return;
    const wait = deadline(options.timeoutMs, options.signal, `leadership of ${this.path}`);
    try {
      await new Promise<void>((resolve, reject) => {
        const off = this.onChange((leads) => leads && (off(), resolve()));
        wait.signal.addEventListener('abort', () => (off(), reject(wait.signal.reason)), { once: true });
      });
    } finally {
      wait.dispose();
    }
  }

  /** Leaves the election: the node is deleted, so the next participant leads. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const ours = this.ours;
    this.relinquish();
    if (ours && !this.session.ended) await deleteQuietly(this.session, ours.path);
  }

  /** Looks at the participants: leads if first, else waits for the one before it to go, then looks again. */
  private async check(): Promise<void> {
    for (let round = 0; this.state === 'started' && round < 1_000_000; round++) {
      const members = sortedMembers(await listChildren(this.session, this.path), MARKER);
      const at = this.ours ? members.indexOf(this.ours.name) : -1;
      if (this.state !== 'started') return;
      if (at < 0) return this.relinquish(); // our node is gone: the session ended
      if (at === 0) return this.setLeader(true);
      this.setLeader(false);
      const before = `${this.path}/${members[at - 1]}`;
      if (round === 0) {
        // Wait in the background: start() answers now, with isLeader() false.
        void this.waitThenCheck(before);
        return;
      }
      await waitForDeletion(this.session, before, this.stopWatching.signal);
    }
  }

  private async waitThenCheck(before: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt === 1) await waitForDeletion(this.session, before, this.stopWatching.signal);
        await this.check();
        return;
      } catch {
        // Closed, or the session ended: relinquish() has run (or runs from onSessionEnd).
        if (this.session.ended) this.relinquish();
        if (this.state !== 'started' || attempt >= CHECK_ATTEMPTS_MAX) return;
        // A request failed after the client's failover gave up: look again a little later.
        await new Promise((resolve) => setTimeout(resolve, CHECK_RETRY_PAUSE_MS * attempt));
      }
    }
  }

  private relinquish(): void {
    this.state = 'closed';
    this.stopOnEnd();
    this.stopWatching.abort(new CorralError(410, 'SESSIONEXPIRED', -112, 'the latch is closed'));
    this.setLeader(false);
  }

  private setLeader(leads: boolean): void {
    if (this.leader === leads) return;
    this.leader = leads;
    for (const listener of [...this.listeners]) listener(leads);
  }
}

/**
 * The simulated clock's side of a host's timed duties: SimTimers is the Timers
 * (src/node/timers.ts) of one host incarnation, run by the cluster once a tick, in the order the
 * timers were set, so one seed replays exactly; a crash drops it with everything it had pending.
 * SimTokens issues session tokens from the seed's stream, unique by construction (a counter),
 * and tells the workload which token the last open got (it is drawn synchronously inside open()).
 */
import type { Timers } from '../../src/node/timers.ts';
import type { Prng } from '../support/prng.ts';

interface Pending {
  dueMs: number;
  /** Undefined: a one-shot timer. */
  readonly everyMs: number | undefined;
  readonly run: () => void;
  cancelled: boolean;
}

export class SimTimers implements Timers {
  private pending: Pending[] = [];

  constructor(private readonly nowMs: () => number) {}

  every(ms: number, run: () => void): () => void {
    const timer: Pending = { dueMs: this.nowMs() + ms, everyMs: ms, run, cancelled: false };
    this.pending.push(timer);
    return () => (timer.cancelled = true);
  }

  after(ms: number, run: () => void): () => void {
    const timer: Pending = { dueMs: this.nowMs() + ms, everyMs: undefined, run, cancelled: false };
    this.pending.push(timer);
    return () => (timer.cancelled = true);
  }

  /** Runs what is due now; a repeating timer is rescheduled from now, as setInterval does after a late run. */
  fire(): void {
    const nowMs = this.nowMs();
    for (const timer of [...this.pending]) {
      if (timer.cancelled || timer.dueMs > nowMs) continue;
      if (timer.everyMs === undefined) timer.cancelled = true;
      else timer.dueMs = nowMs + timer.everyMs;
      timer.run();
    }
    this.pending = this.pending.filter((t) => !t.cancelled);
  }
}

export class SimTokens {
  issued = 0;
  last = '';

  constructor(private readonly rng: Prng) {}

  next(): string {
    const noise = Array.from(this.rng.bytes(6), (b) => b.toString(16).padStart(2, '0')).join('');
    this.last = `token-${++this.issued}-${noise}`;
    return this.last;
  }
}

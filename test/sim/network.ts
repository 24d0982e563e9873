/**
 * The simulated network: messages sent at tick t arrive at t + 1 + delay, so random delays
 * reorder them; a message may be dropped or duplicated; a partition splits the members into
 * groups that cannot talk; a message to a crashed member is lost. All randomness comes from the
 * network's own stream, so a seed replays exactly.
 */
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import type { Prng } from '../support/prng.ts';

export interface NetworkFaults {
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly delayTicksMax: number;
  /** A few messages are held far longer than an election timeout (a stuck buffer). */
  readonly longDelayRate: number;
  readonly longDelayTicksMax: number;
}

export const NO_FAULTS: NetworkFaults = { dropRate: 0, duplicateRate: 0, delayTicksMax: 0, longDelayRate: 0, longDelayTicksMax: 0 };

/** What the network carries: Raft messages, and (in the node simulation) forwarded proposals and their answers. */
export interface SimMessage {
  readonly type: string;
  readonly from: number;
  readonly to: number;
}

interface InFlight<M> {
  readonly deliverAt: number;
  readonly seq: number;
  readonly message: M;
}

/** Bounds the queue: a cluster that floods the network is a bug, not a slow test. */
const IN_FLIGHT_MAX = 50_000;

export class SimNetwork<M extends SimMessage = RaftMessage> {
  faults: NetworkFaults = NO_FAULTS;
  private queue: Array<InFlight<M>> = [];
  private seq = 0;
  /** Member → partition group; undefined when fully connected. */
  private groups: Map<number, number> | undefined;
  /** Messages sent so far, per type (for liveness checks). */
  readonly sentByType = new Map<string, number>();
  /** MsgApp messages that carried entries (a converged, idle cluster sends none). */
  sentWithEntries = 0;

  constructor(private readonly rng: Prng) {}

  send(message: M, now: number): void {
    this.sentByType.set(message.type, (this.sentByType.get(message.type) ?? 0) + 1);
    if (message.type === 'MsgApp' && (message as unknown as { entries: readonly unknown[] }).entries.length > 0) this.sentWithEntries++;
    if (this.rng.chance(this.faults.dropRate)) return;
    const copies = this.rng.chance(this.faults.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const long = this.rng.chance(this.faults.longDelayRate);
      const max = long ? this.faults.longDelayTicksMax : this.faults.delayTicksMax;
      const delay = max > 0 ? this.rng.int(max + 1) : 0;
      this.queue.push({ deliverAt: now + 1 + delay, seq: this.seq++, message });
    }
    if (this.queue.length > IN_FLIGHT_MAX) throw new Error(`network flooded: ${this.queue.length} messages in flight`);
  }

  /** Removes and returns the messages due by `now`, in (deliverAt, send order). */
  due(now: number): M[] {
    const ready = this.queue.filter((f) => f.deliverAt <= now);
    if (ready.length === 0) return [];
    this.queue = this.queue.filter((f) => f.deliverAt > now);
    ready.sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq);
    return ready.filter((f) => this.connected(f.message.from, f.message.to)).map((f) => f.message);
  }

  connected(a: number, b: number): boolean {
    return this.groups === undefined || this.groups.get(a) === this.groups.get(b);
  }

  /** Splits members into groups by `groupOf`; messages across groups are lost on arrival. */
  partition(members: readonly number[], groupOf: (id: number) => number): void {
    this.groups = new Map(members.map((id) => [id, groupOf(id)]));
  }

  heal(): void {
    this.groups = undefined;
  }

  get partitioned(): boolean {
    return this.groups !== undefined;
  }

  get inFlight(): number {
    return this.queue.length;
  }
}

/**
 * A small in-process network for protocol specs: Raft members with MemStableLogs, driven like a
 * host (persist the Ready, then send its messages, then advance), messages delivered FIFO until
 * the network is quiet. Links can be cut and messages filtered; every delivered message is
 * recorded so a spec can replay one (a duplicate) later. Every loop is bounded: a network that
 * does not go quiet is a failure (a message storm), not a hang.
 */
import { Raft, type RaftOptions } from '../../src/core/consensus/raft.ts';
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import type { Entry, ReadState, Ready } from '../../src/core/consensus/types.ts';
import { Prng } from '../support/prng.ts';
import { MemStableLog } from './mem-stable-log.ts';

export const ELECTION_TICKS = 10;
export const HEARTBEAT_TICKS = 1;
const FLUSH_ROUNDS_MAX = 1_000;

export interface Member {
  raft: Raft;
  store: MemStableLog;
  /** Every committed entry handed out by a Ready, in order. */
  applied: Entry[];
  /** Every read index granted to this member (ReadIndex), in order. */
  reads?: ReadState[];
}

export interface NetworkOptions {
  /** Persisted state per member (default: empty). */
  readonly stores?: Readonly<Record<number, MemStableLog>>;
  /** Applied index per member at start (a checkpoint's); default: firstIndex - 1 of its store. */
  readonly appliedIndex?: Readonly<Record<number, number>>;
  /**
   * Election timeout offset per member in [0, ELECTION_TICKS): the member times out after
   * ELECTION_TICKS + offset ticks. Default: a seeded random generator per member.
   */
  readonly timeoutOffsets?: Readonly<Record<number, number>>;
  readonly seed?: number;
  readonly overrides?: Partial<RaftOptions>;
}

/** Drives one member's Ready like a host: persist, then hand out messages, then advance. */
export function drain(member: Member): Ready {
  const ready = member.raft.ready();
  member.store.persist(ready);
  member.applied.push(...ready.committed);
  member.reads?.push(...ready.readStates);
  member.raft.advance(ready);
  return ready;
}

export class Network {
  readonly members = new Map<number, Member>();
  readonly delivered: RaftMessage[] = [];
  private readonly cut = new Set<string>();
  private readonly down = new Set<number>();
  /** Returns true to drop a message. */
  dropIf: (message: RaftMessage) => boolean = () => false;

  constructor(readonly ids: readonly number[], options: NetworkOptions = {}) {
    for (const id of ids) {
      const store = options.stores?.[id] ?? new MemStableLog();
      this.members.set(id, { raft: this.newRaft(id, store, options), store, applied: [], reads: [] });
    }
  }

  private newRaft(id: number, store: MemStableLog, options: NetworkOptions): Raft {
    const offset = options.timeoutOffsets?.[id];
    const prng = new Prng((options.seed ?? 1) * 31 + id);
    const random = offset === undefined ? () => prng.next() : () => offset / ELECTION_TICKS;
    return new Raft({
      id, members: this.ids, log: store, hardState: store.hardState(),
      appliedIndex: options.appliedIndex?.[id] ?? store.firstIndex() - 1,
      electionTicks: ELECTION_TICKS, heartbeatTicks: HEARTBEAT_TICKS, random, ...options.overrides,
    });
  }

  member(id: number): Member {
    const member = this.members.get(id);
    if (!member) throw new Error(`no member ${id}`);
    return member;
  }

  raft(id: number): Raft {
    return this.member(id).raft;
  }

  /** Cuts every link between `id` and the others (both directions). */
  isolate(id: number): void {
    for (const other of this.ids) if (other !== id) this.cutLink(id, other);
  }

  cutLink(a: number, b: number): void {
    this.cut.add(`${a}-${b}`).add(`${b}-${a}`);
  }

  heal(): void {
    this.cut.clear();
    this.dropIf = () => false;
  }

  /** Stops a member: it neither ticks nor receives; its persisted store survives. */
  crash(id: number): void {
    this.down.add(id);
  }

  private canDeliver(message: RaftMessage): boolean {
    return !this.down.has(message.to) && !this.cut.has(`${message.from}-${message.to}`) && !this.dropIf(message);
  }

  /** Persists and sends every pending Ready, delivering messages until nothing is left. */
  flush(): void {
    for (let round = 0; round < FLUSH_ROUNDS_MAX; round++) {
      const outbox: RaftMessage[] = [];
      for (const [id, member] of this.members) {
        if (this.down.has(id) || !member.raft.hasReady()) continue;
        const ready = drain(member);
        outbox.push(...ready.messagesBeforePersist, ...ready.messages);
      }
      if (outbox.length === 0) return;
      for (const message of outbox) this.deliver(message);
    }
    throw new Error(`network did not go quiet within ${FLUSH_ROUNDS_MAX} rounds (message storm)`);
  }

  /** Delivers one message (subject to cuts and filters), e.g. to replay a duplicate. */
  deliver(message: RaftMessage): void {
    if (!this.canDeliver(message)) return;
    this.delivered.push(message);
    this.raft(message.to).step(message);
  }

  /** One tick on every running member, then a flush. */
  tick(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const [id, member] of this.members) if (!this.down.has(id)) member.raft.tick();
      this.flush();
    }
  }

  /** Ticks until `done()` holds; fails after `ticksMax` ticks. Returns the ticks taken. */
  tickUntil(done: () => boolean, ticksMax: number, what = 'condition'): number {
    for (let ticks = 0; ticks <= ticksMax; ticks++) {
      if (done()) return ticks;
      this.tick();
    }
    throw new Error(`${what} not reached within ${ticksMax} ticks`);
  }

  leaders(): number[] {
    return this.ids.filter((id) => !this.down.has(id) && this.raft(id).status().role === 'leader');
  }

  /** Ticks until `id` leads (give it the smallest timeout offset). */
  elect(id: number): void {
    this.tickUntil(() => this.leaders().includes(id), 4 * ELECTION_TICKS, `member ${id} leading`);
  }

  /** Terms of each member's log entries (from its persisted store). */
  logTerms(id: number): number[] {
    const store = this.member(id).store;
    return store.entries(1, store.lastIndex() + 1, 10_000).map((e) => e.term);
  }
}

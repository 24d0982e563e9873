/**
 * Reader clients of the node simulation: linearizable reads through ReadIndex
 * (NodeHost.readBarrier) at ANY running node — followers, nodes cut off by a partition, leaders
 * that no longer lead — in the fault phase. A read is recorded with the history time of its
 * readBarrier call and the time it returned: the barrier resolved and the reader read that
 * host's tree synchronously, in the resolution's callback. The linearizability check takes them
 * with everything else (node-history.ts): a stale leader or a partitioned follower must never
 * answer a read that misses a write acknowledged before the read was asked for. And directly:
 * the host that answers has applied every index any host knew committed when it was asked.
 *
 * A barrier that is refused (no leader known) or never resolves (the leader never confirmed: a
 * lost message, a leader cut off from its quorum) is a read with no answer and is left out; the
 * reader gives up waiting for it after a while and reads again (a late answer still counts). A
 * host that crashed meanwhile (`node.host` is another object) answers nothing: its frozen tree
 * would be stale by the time the callback runs.
 */
import type { Role } from '../../src/core/consensus/types.ts';
import { indexOf } from '../../src/core/consensus/zxid.ts';
import { NotCommittedError, type NodeHost } from '../../src/node/node-host.ts';
import type { Prng } from '../support/prng.ts';
import type { NodeCluster, SimNode } from './node-cluster.ts';
import type { NodeOutput } from './node-model.ts';
import { GIVE_UP_TICKS, type Recorder } from './node-records.ts';
import { EPHEMERAL_PATHS, SHARED_PATHS } from './node-requests.ts';

/** Large enough never to fire: the barrier uses a real setTimeout, and simulated runs take milliseconds. */
const BARRIER_TIMEOUT_MS = 3_600_000;
const READ_PATHS = [...SHARED_PATHS, ...EPHEMERAL_PATHS] as const;
const READ_PATH_CHANCE = 0.5;
/** A node restarted this recently is a favoured target. */
const FRESH_TICKS = 10;

export interface ReaderOptions {
  readonly readers: number;
  /** Chance per tick that an idle reader reads. */
  readonly rate: number;
}

/** A read asked for: by whom, where, when, and what was committed then. */
interface Asked {
  readonly reader: Reader;
  readonly node: SimNode;
  readonly call: number;
  readonly tick: number;
  readonly role: Role;
  readonly cutOff: boolean;
  readonly committed: { readonly index: number; readonly by: number };
}

interface Reader {
  readonly id: number;
  /** Its read in flight: when it was asked for, and how to stop the flush waiting for it. */
  waiting: { readonly since: number; readonly release: () => void } | undefined;
}

const text = new TextDecoder();

export class Readers {
  private readonly readers: Reader[];
  /** Reads asked for and answered (one answer covers some of the paths): in all, at followers, at nodes cut off from a quorum. */
  readonly asked = { all: 0, followers: 0, cutOff: 0 };
  readonly answered = { all: 0, followers: 0, cutOff: 0 };

  constructor(private readonly cluster: NodeCluster, private readonly rng: Prng, private readonly recorder: Recorder, private readonly options: ReaderOptions) {
    this.readers = Array.from({ length: options.readers }, (_, i) => ({ id: i + 1, waiting: undefined }));
  }

  /** Each idle reader (or one tired of waiting) may ask some running node for a linearizable read. */
  readSome(): void {
    for (const reader of this.readers) {
      if (reader.waiting && this.cluster.tick - reader.waiting.since < GIVE_UP_TICKS) continue;
      // Given up: a late answer still counts (its callback reads the tree when it runs).
      reader.waiting?.release();
      if (!this.rng.chance(this.options.rate)) continue;
      const node = this.target();
      if (node) this.read(reader, node, this.paths());
    }
  }

  /**
   * Any running node; half the time one that takes itself for the leader, and then mostly the
   * stale one when two do (a leader cut off that has not noticed yet), else often one that just
   * restarted: the reads most likely to go wrong.
   */
  private target(): SimNode | undefined {
    const leaders = this.cluster.leaders();
    if (leaders.length > 0 && this.rng.chance(0.5)) {
      const stale = leaders.reduce((a, b) => (a.host!.status().term <= b.host!.status().term ? a : b));
      return leaders.length > 1 && this.rng.chance(0.7) ? stale : this.rng.pick(leaders);
    }
    // A node that knows no leader refuses at once (CONNECTIONLOSS): one is asked now and then only.
    const up = this.cluster.up();
    // One that just restarted: its earlier incarnation's reads may still be in flight.
    const restarted = up.filter((n) => n.bootTick > 0 && this.cluster.tick - n.bootTick <= FRESH_TICKS);
    if (restarted.length > 0 && this.rng.chance(0.3)) return this.rng.pick(restarted);
    const among = this.rng.chance(0.1) ? up : up.filter((n) => n.host!.status().leader !== 0);
    return among.length > 0 ? this.rng.pick(among) : undefined;
  }

  /** Some of the paths, read together after one barrier: each read is a chance to see a stale value. */
  private paths(): string[] {
    const paths = READ_PATHS.filter(() => this.rng.chance(READ_PATH_CHANCE));
    return paths.length > 0 ? paths : [this.rng.pick(READ_PATHS)];
  }

  private read(reader: Reader, node: SimNode, paths: readonly string[]): void {
    const host = node.host!;
    const call = ++this.cluster.time;
    const asked: Asked = { reader, node, call, tick: this.cluster.tick, role: host.status().role, cutOff: this.cutOff(node), committed: this.committed() };
    this.count(this.asked, asked);
    this.recorder.began();
    let counted = true;
    const waiting = {
      since: this.cluster.tick,
      release: () => {
        if (counted) this.recorder.ended();
        counted = false;
        if (reader.waiting === waiting) reader.waiting = undefined;
      },
    };
    reader.waiting = waiting;
    withInertTimeouts(() => host.readBarrier(BARRIER_TIMEOUT_MS)).then(
      () => {
        waiting.release();
        // Read at once, in the same callback: the return time is this instant.
        if (node.host === host) this.answer(asked, host, paths);
      },
      (error: unknown) => {
        waiting.release();
        // Refused (no leader known), or its host was closed by a crash: no answer. The timeout never fires here.
        const code = error instanceof NotCommittedError ? error.error.code : undefined;
        const crashed = node.host !== host;
        if (code !== 'CONNECTIONLOSS' && !(crashed && code === 'OPERATIONTIMEOUT')) {
          this.recorder.violations.push(`a read barrier at n${node.id} failed with ${code ?? String(error)}${crashed ? ' (crashed)' : ''}`);
        }
      },
    );
  }

  /**
   * The barrier resolved: the host has applied at least everything committed anywhere when the
   * read was asked for (ReadIndex's promise, checked directly), and its tree is read now.
   */
  private answer(asked: Asked, host: NodeHost, paths: readonly string[]): void {
    const { node, role, cutOff, committed } = asked;
    this.count(this.answered, asked);
    const applied = indexOf(host.tree.appliedZxid);
    if (applied < committed.index) {
      this.recorder.violations.push(`a linearizable read at n${node.id} (${role} when asked at t${asked.tick}) was answered at t${this.cluster.tick} with ` +
        `n${node.id} applied through index ${applied}, but n${committed.by} had committed index ${committed.index} when it was asked`);
    }
    const ret = this.cluster.time;
    const client = `reader r${asked.reader.id} at n${node.id} (${role}${cutOff ? ', cut off' : ''} when asked)`;
    for (const path of paths) {
      this.recorder.reads.push({ kind: 'linearizable', client, node: node.id, call: asked.call, ret, path, output: outputOf(host.tree.get(path)) });
    }
  }

  private count(tally: Readers['asked'], { role, cutOff }: Asked): void {
    tally.all++;
    if (role !== 'leader') tally.followers++;
    if (cutOff) tally.cutOff++;
  }

  /** The highest index any running host knows committed. */
  private committed(): { index: number; by: number } {
    let best = { index: 0, by: 0 };
    for (const n of this.cluster.up()) {
      const index = n.host!.status().commitIndex;
      if (index > best.index) best = { index, by: n.id };
    }
    return best;
  }

  /** Whether `node` was cut off from a quorum of voters (by the partition, or by crashes) when asked. */
  private cutOff(node: SimNode): boolean {
    const voters = this.cluster.voters;
    const reachable = this.cluster.up().filter((n) => voters.includes(n.id) && this.cluster.network.connected(node.id, n.id)).length;
    return reachable <= voters.length / 2;
  }
}

/**
 * readBarrier bounds its wait for the leader with a real setTimeout (NodeHost takes no Timers for
 * it). Under the hour-long bound it never fires, but a pending one would keep the whole simulated
 * world of every finished run alive for the hour (a third of a megabyte a seed). So the call runs
 * with a setTimeout that hands back an inert handle: the barrier answers, or stays pending, as it
 * would have. (Its wait to apply the index, after the leader answered, has real timers that are
 * cleared once the index is applied, or by the close of a crashed host.)
 */
function withInertTimeouts<T>(call: () => T): T {
  const real = globalThis.setTimeout;
  globalThis.setTimeout = inertTimeout as unknown as typeof setTimeout;
  try {
    return call();
  } finally {
    globalThis.setTimeout = real;
  }
}

/** Never runs; clearTimeout ignores it. */
function inertTimeout(): object {
  return { unref: () => undefined, ref: () => undefined, hasRef: () => false };
}

/** A read of one znode as the model states it. */
export function outputOf(znode: { data: Uint8Array; version: number; ephemeralOwner: number } | undefined): NodeOutput {
  return znode
    ? { ok: true, exists: true, data: text.decode(znode.data), version: znode.version, owner: znode.ephemeralOwner }
    : { ok: true, exists: false };
}

/**
 * What a benchmark target is: a system the harness can start on loopback (1 or 3 members), drive
 * through a client with N requests in flight, watch, measure (RSS) and restart. Corral, ZooKeeper
 * and etcd each implement it; a target that cannot run here says why instead of being left out.
 */

export interface StartOptions {
  /** Parent of every temp dir the target creates (removed on stop). */
  readonly workDir: string;
  /** Corral only: the checkout to run (default: this repository), e.g. a `git worktree` of a commit. */
  readonly corralRoot?: string;
  /** Corral only: write a V8 CPU profile per process into this dir (node --cpu-prof). */
  readonly profileDir?: string;
  /** Corral only: --checkpoint-every-entries, so the memory workload can time one checkpoint. */
  readonly checkpointEveryEntries?: number;
}

export interface KvClient {
  /** Sets 100-byte data on an existing node; returns the change's id when `wantToken` (zxid or revision), else ''. */
  setData(path: string, data: Buffer, wantToken?: boolean): Promise<string>;
  getData(path: string): Promise<unknown>;
  /** Creates a new node (fails if it exists). */
  create(path: string, data: Buffer): Promise<void>;
  /** Creates these nodes in one transaction, in order (parents before children). */
  createMany(paths: readonly string[], data: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** One watcher of one path: its own connection (and session where the system has them). */
export interface Watcher {
  /** Arms the watch for the next change; resolves once the server has registered it. Persistent watches: a no-op once open. */
  arm(): Promise<void>;
  close(): void;
}

/** `token` identifies the change (zxid, revision), '' when the system's events carry none; `atMs` is performance.now(). */
export type EventListener = (token: string, atMs: number) => void;

/**
 * An event token as a zxid or revision (undefined for a token that is none, e.g. ''). A gateway
 * dates an event at or after its change (the zxid its connection had applied when it asked,
 * src/backend/zookeeper/event-dating.ts): a ZooKeeper transaction of its own in between dates
 * it later than its write, so the watch workloads give an event to the last write at or before it.
 */
export function tokenZxid(token: string): bigint | undefined {
  return /^\d+$/.test(token) ? BigInt(token) : undefined;
}

export interface CheckpointStats {
  readonly count: number;
  readonly totalSeconds: number;
}

export interface Deployment {
  readonly target: string;
  readonly nodes: number;
  /** One-shot watches must be re-armed after each event (ZooKeeper). */
  readonly oneShotWatches: boolean;
  client(inFlight: number): Promise<KvClient>;
  watcher(path: string, index: number, onEvent: EventListener): Promise<Watcher>;
  /** RSS in bytes of each member process. */
  rssBytes(): number[];
  /** CPU seconds (user + system) all member processes have used so far. */
  cpuSeconds(): number;
  /** The same for the members' main threads alone, where the system has one that matters (Corral's event loop). */
  mainThreadCpuSeconds?(): number;
  /** When a member process has died: which, how, and the tail of its output; undefined while all run. */
  exitDetail(): string | undefined;
  /** Stops gracefully and starts again on the same data; resolves with ms from spawn to ready. */
  restart(): Promise<number>;
  /** Cumulative counters the system reports about itself (Corral: fsyncs, batch sizes), for the analysis. */
  counters?(): Promise<Record<string, number>>;
  /** Checkpoints (snapshots) taken so far and their total time, where the system reports it. */
  checkpointStats?(): Promise<CheckpointStats>;
  stop(): Promise<void>;
}

export type Availability =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 'missing' | 'not-available'; readonly reason: string };

export interface Target {
  readonly name: string;
  readonly nodes: 1 | 3;
  /** Most nodes one createMany call may carry. */
  readonly bulkBatchMax: number;
  availability(): Availability;
  /** Starts the target; resolves once it is ready with the ms that took. */
  start(options: StartOptions): Promise<{ deployment: Deployment; readyMs: number }>;
}

/** Keys of etcd and paths of the tree systems are the same strings. */
export const DATA_BYTES = 100;

export function payload(seed: number): Buffer {
  const text = `v${seed}-`.padEnd(DATA_BYTES, 'abcdefghijklmnopqrstuvwxyz0123456789');
  return Buffer.from(text.slice(0, DATA_BYTES), 'ascii');
}

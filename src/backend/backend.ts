/**
 * The one interface the HTTP layer depends on: reads, writes, sessions, watches, events and the
 * cluster view. The embedded node implements it (embedded/embedded-backend.ts); a ZooKeeper
 * ensemble can implement it too, so nothing here names Raft, the tree or the host: sessions are
 * ids and tokens, event ids are opaque `<zxid>-<k>` strings, positions are zxids.
 *
 * Every method that can fail for a client's reason answers a ZkError value (mapped to HTTP in
 * src/http/errors.ts); a throw is a bug.
 */
import type { Acl } from '../core/acl/acl.ts';
import type { CheckpointImage } from '../core/tree/checkpoint-image.ts';
import type { ZkError } from '../core/errors.ts';
import type { TreeEvent, WatchResult, WriteResult } from '../core/tree/results.ts';
import type { WatchRequest, WriteOp } from '../core/tree/txn.ts';
import type { Stat } from '../core/tree/znode.ts';
import type { Cursor, OutboxEvent } from '../node/outbox.ts';
import type { MembershipAdmin } from '../node/membership-admin.ts';
import type { HistoryEvent } from '../storage/change-history.ts';

/** A value here, or a promise of it where the state is elsewhere (await only when it is one: the hot path). */
export type MaybePromise<T> = T | Promise<T>;

/** One node as a read-only multi reads it. */
export interface NodeNow {
  readonly stat: Stat;
  readonly data: Uint8Array;
  readonly children: () => readonly string[];
}

/** Who is asking: what authentication found (`scheme:id` identities) and where from. */
export interface Caller {
  /** ZooKeeper-form identities the caller proved (`digest:bob:…`, `x509:…`, `jwt:…`, `super:`); empty when anonymous. */
  readonly identities: readonly string[];
  /** The peer address of the connection (`ip:` identities and per-address limits use it). */
  readonly address: string;
  /** What ACL checks see: `identities`, then `ip:<address>` (ZooKeeper gives every connection its ip identity). */
  readonly auth: readonly string[];
}

/** `local`: this member's state (ZooKeeper's default); `linearizable`: after a quorum-confirmed barrier. */
export type Consistency = 'local' | 'linearizable';

export type ReadOp = 'getData' | 'exists' | 'getChildren';

export interface ReadRequest {
  readonly op: ReadOp;
  readonly path: string;
  readonly consistency: Consistency;
  /** The session whose one-shot watch the read sets (0: none): a watched read is ordered like a write. */
  readonly watchSession: number;
  readonly caller: Caller;
}

/** A read's answer: absent stat when the node does not exist. */
export interface ReadView {
  readonly stat?: Stat | undefined;
  readonly data?: Uint8Array | undefined;
  readonly children?: readonly string[] | undefined;
}

export interface WriteRequest {
  readonly ops: readonly WriteOp[];
  readonly multi: boolean;
  /** The session the write acts for (ephemerals), 0 for none. */
  readonly sessionId: number;
  /** Zk-Request-Id: a retry with it, through any member, gets the first answer. */
  readonly requestId: string | undefined;
  readonly caller: Caller;
}

/** A client write's outcome: applied at `zxid` with its result (or the first attempt's), or not ordered. */
export type WriteOutcome =
  | { readonly ok: true; readonly zxid: number; readonly result: WriteResult }
  | { readonly ok: false; readonly error: ZkError };

export interface OpenedSession {
  readonly id: number;
  readonly timeoutMs: number;
  readonly token: string;
}

/** A session's ordered events, as its stream reads them (replay after Last-Event-ID, then follow). */
export interface SessionEvents {
  readonly lastId: string | undefined;
  readonly firstSeq: number;
  cursorAfter(lastEventId: { zxid: number; k: number } | undefined): Cursor;
  read(seq: number): OutboxEvent[] | 'overflow';
  waitFor(seq: number): Promise<void>;
  wakeAll(): void;
}

/** A live session as an operator sees it (ZooKeeper's `cons`/`dump`): never its token or token hash. */
export interface SessionSummary {
  readonly id: number;
  readonly timeoutMs: number;
  /** The identities of the request that opened it (`scheme:id`, as recorded: the route hides digest hashes). */
  readonly identities: readonly string[];
}

export interface Sessions {
  open(requestedTimeoutMs: number, caller: Caller): Promise<OpenedSession | ZkError>;
  close(id: number, caller: Caller): Promise<ZkError | undefined>;
  /** An explicit keepalive: the member that expires sessions hears of it (503 without one). */
  keepalive(id: number, caller: Caller): Promise<ZkError | undefined>;
  /**
   * Whether `token` lets a request act for session `id` (undefined: it does). `readEnd`: an ended
   * session's stream may still be read. `caller`: a request (not the event stream, whose token
   * alone opens it) must also carry every identity the session was opened with (else NOAUTH).
   */
  authenticate(id: number, token: string | undefined, readEnd?: boolean, caller?: Caller): ZkError | undefined;
  /** The session was heard from here (a request for it, its open stream). */
  touch(id: number): void;
  timeoutOf(id: number): number;
  ephemerals(id: number): readonly string[];
  /** Every live session of the ensemble (the replicated table), sorted by id. */
  list(): readonly SessionSummary[];
  /** Sets or removes watches (addWatch, removeWatches, or a watched read: see Backend.read). */
  watch(id: number, request: WatchRequest, caller: Caller): Promise<WatchResult | ZkError>;
  events(id: number): SessionEvents | undefined;
  /**
   * Before a request acting for session `id` is answered: waits (bounded) until the events of every
   * change it reflects, and of every change up to `minZxid` (0: none asked), are queued on the
   * session's stream. Absent where apply queues them before any answer (the embedded store).
   */
  settle?(id: number, minZxid: number): Promise<void>;
}

/** A live session-less watch. Called inside the apply loop: must not throw. */
export interface ChangeSubscriber {
  changed(events: readonly TreeEvent[]): void;
  /** Events before `zxid` are unknown here (a checkpoint install). */
  gap(zxid: number): void;
}

/** Every change, for session-less watch streams: the recorded history, then live. */
export interface Changes {
  readonly appliedZxid: number;
  readonly subscribers: number;
  subscribe(path: string, recursive: boolean, subscriber: ChangeSubscriber): () => void;
  /**
   * Where subscribing is not immediate (a gateway asks ZooKeeper to set a watch): keeps the
   * watch of a stream about to open, `ready` once it is set; the stream answers after it.
   */
  hold?(path: string, recursive: boolean): { ready: Promise<void>; release: () => void };
  /** The oldest zxid a resume of a stream of `path` can start after without a reset. */
  floor(path: string, recursive: boolean): number;
  replay(afterZxid: number, max: number): HistoryEvent[];
  at(zxid: number): HistoryEvent[];
}

export interface MemberView {
  readonly id: number;
  readonly address: string;
  /** host:port the other members dial it at (what a member joining with --join learns the cluster from). */
  readonly peer?: string;
  readonly role: string;
  readonly lag: number | null;
  readonly connected: boolean;
}

export interface ClusterView {
  readonly self: number;
  readonly role: string;
  readonly leader: number | null;
  readonly epoch: number;
  readonly lastZxid: string;
  readonly commitZxid: string;
  readonly members: readonly MemberView[];
}

export interface Backend {
  /** The zxid of the last change applied here: every answer's Zk-Zxid is at least this. */
  readonly appliedZxid: number;
  /**
   * Whether a session's id is the zxid that opened it (absent: it is), so a request for a session
   * opened a moment ago through another member first waits until this member applied that zxid.
   * A ZooKeeper gateway's ids are the ensemble's session ids: false.
   */
  readonly sessionIdsAreZxids?: boolean;
  /** A read (or a watched read); answered from this member's state after the consistency asked. */
  read(request: ReadRequest): ReadView | Promise<ReadView | ZkError> | ZkError;
  /**
   * Reads of several nodes at one point (a read-only multi); no consistency or watch. NOAUTH without
   * READ. `op` says what the caller reads: a backend may leave `children()` empty for `getData`.
   * Synchronous where the state is here (the embedded store: every call of one turn reads one
   * state); a promise where it is not (a gateway batches the calls of one turn into one multiRead,
   * so a caller that makes all its calls before awaiting any still reads one point).
   */
  readNow(path: string, caller: Caller, op?: 'getData' | 'getChildren'): MaybePromise<NodeNow | ZkError | undefined>;
  /**
   * getAllChildrenNumber (ZooKeeper 3.6+): how many nodes are below `path` (all depths, the node
   * itself not counted) in this member's state; undefined when it does not exist, NOAUTH without
   * READ on it (the descendants' own ACLs are not asked, as in ZooKeeper).
   */
  allChildrenNumber(path: string, caller: Caller): MaybePromise<number | ZkError | undefined>;
  /** getACL: the node's ACL and Stat (digest hashes hidden from a caller without ADMIN), or NONODE. */
  getAcl(path: string, caller: Caller): MaybePromise<{ readonly acl: Acl; readonly stat: Stat } | ZkError>;
  write(request: WriteRequest): Promise<WriteOutcome>;
  /** Resolves once `zxid` is applied here (Zk-Min-Zxid); OPERATIONTIMEOUT past the bound. */
  waitFor(zxid: number): Promise<ZkError | undefined>;
  /** ZooKeeper's sync: catch up with the commit point confirmed by a quorum. */
  sync(): Promise<ZkError | undefined>;
  readonly sessions: Sessions;
  readonly changes: Changes;
  cluster(): ClusterView;
  /**
   * This member's whole replicated state at its applied zxid, for a backup (superuser only: the
   * route checks); absent where the backend cannot give one.
   */
  backupImage?(): CheckpointImage;
  /**
   * Hands leadership to voter `to` (undefined: the most caught-up one) and resolves once this
   * member sees the new leader, or with why not (superuser only: the route checks).
   */
  transferLeader?(to: number | undefined): Promise<{ readonly leader: number; readonly from: number } | ZkError>;
  /** Undefined when ready to serve (a leader known, caught up), else why not. */
  readiness(): ZkError | undefined;
  /**
   * Membership changes at run time (list, add, promote, remove, replace; operators only: the
   * routes check); absent where the backend cannot change its membership.
   */
  readonly membership?: Pick<MembershipAdmin, 'list' | 'add' | 'promote' | 'remove' | 'replace'>;
}

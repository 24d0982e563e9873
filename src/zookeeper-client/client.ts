/**
 * ZooKeeper's client API over one session (session.ts): every op answers a value or a ZkError
 * (never throws for a server's answer). Paths are the caller's, under the chroot; the chroot is
 * added on the way out and taken off answers and notifications, as ZooKeeper's client does.
 *
 * Versions are sent exactly as given: 0 is 0 and -1 is "any" (unlike a client that writes
 * `version || -1`). Watches set by reads are recorded in the session's registry only when the
 * server set them, so a reconnect re-registers exactly those.
 */
import type { ZkError } from '../core/errors.ts';
import type { JuteReader } from './jute.ts';
import {
  AddWatchMode, createOpCode, OpCode, readAcl, readMulti, readStat, readStrings, WatcherType, writeAcl, writeMulti,
  writeWriteOp, type CreateOp, type MultiResult, type ReadOp, type WatcherEvent, type WriteOp, type ZkAclEntry,
  type ZkAddWatchMode, type ZkStat, type ZkWatcherType, type SetWatches2,
} from './records.ts';
import { ZkSession, type SessionListener, type SessionOptions, type SessionState } from './session.ts';
import { errorOf } from './zk-errors.ts';

export interface ClientOptions extends SessionOptions {
  /** All paths live under it (`/app`): `/` of this client is `/app` of the ensemble. */
  readonly chroot?: string;
}

export interface ClientListener {
  state?(state: SessionState): void;
  /** A watch fired; `path` is under the chroot. */
  watch?(event: WatcherEvent, zxid: bigint, seq: number): void;
}

export class ZooKeeperClient {
  private readonly chroot: string;

  private constructor(readonly session: ZkSession, chroot: string) {
    this.chroot = chroot;
  }

  static async connect(options: ClientOptions, listener: ClientListener = {}): Promise<ZooKeeperClient | ZkError> {
    const chroot = options.chroot === undefined || options.chroot === '/' ? '' : options.chroot.replace(/\/$/, '');
    const inner: SessionListener = {
      state: (state) => listener.state?.(state),
      watch: (event, zxid, seq) => {
        const path = stripChroot(chroot, event.path);
        if (path !== undefined) listener.watch?.({ ...event, path }, zxid, seq);
      },
    };
    const session = await ZkSession.connect(options, inner);
    return session instanceof ZkSession ? new ZooKeeperClient(session, chroot) : session;
  }

  /** addauth (`digest`, `user:password`): the session holds the identity, across reconnects too. */
  addAuth(scheme: string, credential: string | Uint8Array): Promise<ZkError | undefined> {
    return this.session.addAuth(scheme, typeof credential === 'string' ? Buffer.from(credential, 'utf8') : credential);
  }

  close(): Promise<void> {
    return this.session.close();
  }

  private server(path: string): string {
    if (this.chroot === '') return path;
    return path === '/' ? this.chroot : this.chroot + path;
  }

  private local(path: string): string {
    return stripChroot(this.chroot, path) ?? path;
  }

  private async call<T>(opCode: number, path: string | undefined, write: ((w: import('./jute.ts').JuteWriter) => void) | undefined,
    read: (r: JuteReader, zxid: bigint) => T): Promise<T | ZkError> {
    const reply = await this.session.request(opCode, write);
    if ('code' in reply) return reply;
    if (reply.header.err !== 0) return errorOf(reply.header.err, path);
    return read(reply.body, reply.header.zxid);
  }

  /** Any create mode: create2, createContainer or createTTL, each answering the node's Stat. */
  create(op: Omit<CreateOp, 'type'>): Promise<{ path: string; stat: ZkStat; zxid: bigint } | ZkError> {
    const full: CreateOp = { type: 'create', ...op, path: this.server(op.path) };
    return this.call(createOpCode(full), op.path, (w) => writeWriteOp(w, full),
      (r, zxid) => ({ path: this.local(r.ustring() ?? ''), stat: readStat(r), zxid }));
  }

  delete(path: string, version: number): Promise<{ zxid: bigint } | ZkError> {
    return this.call(OpCode.delete, path, (w) => writeWriteOp(w, { type: 'delete', path: this.server(path), version }), (_r, zxid) => ({ zxid }));
  }

  setData(path: string, data: Uint8Array, version: number): Promise<{ stat: ZkStat; zxid: bigint } | ZkError> {
    return this.call(OpCode.setData, path, (w) => writeWriteOp(w, { type: 'setData', path: this.server(path), data, version }),
      (r, zxid) => ({ stat: readStat(r), zxid }));
  }

  async getData(path: string, watch = false): Promise<{ data: Uint8Array; stat: ZkStat; zxid: bigint } | ZkError> {
    const answer = await this.call(OpCode.getData, path, (w) => w.ustring(this.server(path)).bool(watch),
      (r, zxid) => ({ data: r.buffer() ?? new Uint8Array(0), stat: readStat(r), zxid }));
    if (watch && !('code' in answer)) this.session.watches.add('data', this.server(path));
    return answer;
  }

  /** The Stat, or null when the node does not exist (a watch is then an exist watch). */
  async exists(path: string, watch = false): Promise<{ stat: ZkStat | null; zxid: bigint } | ZkError> {
    const answer = await this.call(OpCode.exists, path, (w) => w.ustring(this.server(path)).bool(watch),
      (r, zxid) => ({ stat: readStat(r) as ZkStat | null, zxid }));
    if ('code' in answer && answer.code === 'NONODE') {
      if (watch) this.session.watches.add('exist', this.server(path));
      return { stat: null, zxid: this.session.lastZxid };
    }
    if (watch && !('code' in answer)) this.session.watches.add('data', this.server(path));
    return answer;
  }

  /** getChildren2: the names and the parent's Stat. */
  async getChildren(path: string, watch = false): Promise<{ children: string[]; stat: ZkStat; zxid: bigint } | ZkError> {
    const answer = await this.call(OpCode.getChildren2, path, (w) => w.ustring(this.server(path)).bool(watch),
      (r, zxid) => ({ children: readStrings(r), stat: readStat(r), zxid }));
    if (watch && !('code' in answer)) this.session.watches.add('child', this.server(path));
    return answer;
  }

  /** All-or-nothing writes; a failed multi answers an `error` result per op (the failing one's code, others 0 or -2). */
  multi(ops: readonly WriteOp[]): Promise<{ results: MultiResult[]; zxid: bigint } | ZkError> {
    const full = ops.map((op) => ({ ...op, path: this.server(op.path) }));
    return this.call(OpCode.multi, undefined, (w) => writeMulti(w, full), (r, zxid) => ({ results: this.localResults(readMulti(r)), zxid }));
  }

  /** Reads at one point of the ensemble's history (multiRead); each op answers its data or its error. */
  multiRead(ops: readonly ReadOp[]): Promise<{ results: MultiResult[]; zxid: bigint } | ZkError> {
    const full = ops.map((op) => ({ ...op, path: this.server(op.path) }));
    return this.call(OpCode.multiRead, undefined, (w) => writeMulti(w, full), (r, zxid) => ({ results: readMulti(r), zxid }));
  }

  private localResults(results: MultiResult[]): MultiResult[] {
    return results.map((result) => (result.type === 'create' ? { ...result, path: this.local(result.path) } : result));
  }

  /**
   * The zxid the server had applied when it answered, and where the answer came among the frames
   * read: a notification read before it is of a change at or before that zxid (see FrameCounter).
   */
  async probe(): Promise<{ zxid: bigint; seq: number } | ZkError> {
    const reply = await this.session.request(OpCode.exists, (w) => w.ustring('/').bool(false));
    if ('code' in reply) return reply;
    if (reply.header.err !== 0 && reply.header.err !== -101) return errorOf(reply.header.err);
    return { zxid: reply.header.zxid, seq: reply.seq };
  }

  /** The server this session is on catches up with the leader (ZooKeeper's sync). */
  sync(path = '/'): Promise<{ zxid: bigint } | ZkError> {
    return this.call(OpCode.sync, path, (w) => w.ustring(this.server(path)), (r, zxid) => {
      r.ustring();
      return { zxid };
    });
  }

  getACL(path: string): Promise<{ acl: ZkAclEntry[]; stat: ZkStat } | ZkError> {
    return this.call(OpCode.getACL, path, (w) => w.ustring(this.server(path)), (r) => ({ acl: readAcl(r), stat: readStat(r) }));
  }

  /** getAllChildrenNumber (3.6+): the nodes below `path`, all depths, the node itself not counted. */
  getAllChildrenNumber(path: string): Promise<{ count: number; zxid: bigint } | ZkError> {
    return this.call(OpCode.getAllChildrenNumber, path, (w) => w.ustring(this.server(path)), (r, zxid) => ({ count: r.int(), zxid }));
  }

  setACL(path: string, acl: readonly ZkAclEntry[], version: number): Promise<{ stat: ZkStat; zxid: bigint } | ZkError> {
    return this.call(OpCode.setACL, path, (w) => {
      w.ustring(this.server(path));
      writeAcl(w, acl);
      w.int(version);
    }, (r, zxid) => ({ stat: readStat(r), zxid }));
  }

  async addWatch(path: string, mode: ZkAddWatchMode): Promise<{ zxid: bigint } | ZkError> {
    const answer = await this.call(OpCode.addWatch, path, (w) => w.ustring(this.server(path)).int(AddWatchMode[mode]), (_r, zxid) => ({ zxid }));
    if (!('code' in answer)) this.session.watches.add(mode === 'persistent' ? 'persistent' : 'persistentRecursive', this.server(path));
    return answer;
  }

  async removeWatches(path: string, type: ZkWatcherType): Promise<{ zxid: bigint } | ZkError> {
    const answer = await this.call(OpCode.removeWatches, path, (w) => w.ustring(this.server(path)).int(WatcherType[type]), (_r, zxid) => ({ zxid }));
    if (!('code' in answer)) this.session.watches.removed(this.server(path), type);
    return answer;
  }

  /** Watches another client of this session set (paths under the chroot), re-registered relative to `relativeZxid` (see ZkSession.rewatch). */
  setWatches(relativeZxid: bigint, watches: Omit<SetWatches2, 'relativeZxid'>): Promise<ZkError | undefined> {
    const server = (paths: readonly string[]) => paths.map((p) => this.server(p));
    return this.session.rewatch({
      relativeZxid, data: server(watches.data), exist: server(watches.exist), child: server(watches.child),
      persistent: server(watches.persistent), persistentRecursive: server(watches.persistentRecursive),
    });
  }

  /** NOWATCHER when this session has no watch of `type` on `path`. */
  checkWatches(path: string, type: ZkWatcherType): Promise<{ zxid: bigint } | ZkError> {
    return this.call(OpCode.checkWatches, path, (w) => w.ustring(this.server(path)).int(WatcherType[type]), (_r, zxid) => ({ zxid }));
  }
}

function stripChroot(chroot: string, path: string): string | undefined {
  if (chroot === '') return path;
  if (path === chroot) return '/';
  return path.startsWith(`${chroot}/`) ? path.slice(chroot.length) : undefined;
}

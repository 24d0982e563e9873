/**
 * ZooKeeper's client records and codes, as zookeeper.jute and ZooDefs define them (3.5+ wire
 * protocol; checked against a real 3.8 server in test/zookeeper-client/). Pure: encoders write a
 * request body after its RequestHeader, decoders read a response body after its ReplyHeader.
 */
import { JuteReader, JuteWriter } from './jute.ts';

/** ZooDefs.OpCode. */
export const OpCode = {
  create: 1, delete: 2, exists: 3, getData: 4, setData: 5, getACL: 6, setACL: 7, getChildren: 8, sync: 9,
  ping: 11, getChildren2: 12, check: 13, multi: 14, create2: 15, checkWatches: 17, removeWatches: 18,
  createContainer: 19, createTTL: 21, multiRead: 22, getAllChildrenNumber: 104, auth: 100, setWatches: 101, setWatches2: 105,
  addWatch: 106, closeSession: -11, error: -1,
} as const;

/** Reserved xids (ClientCnxn): replies that answer no queued request, or a queued one out of band. */
export const Xid = { notification: -1, ping: -2, auth: -4, setWatches: -8 } as const;

/** CreateMode flags. */
export const CreateFlag = {
  persistent: 0, ephemeral: 1, persistent_sequential: 2, ephemeral_sequential: 3, container: 4,
  persistent_with_ttl: 5, persistent_sequential_with_ttl: 6,
} as const;
export type ZkCreateMode = keyof typeof CreateFlag;

/** Watcher.Event.EventType. */
export const EventType = {
  None: -1, NodeCreated: 1, NodeDeleted: 2, NodeDataChanged: 3, NodeChildrenChanged: 4,
  DataWatchRemoved: 5, ChildWatchRemoved: 6, PersistentWatchRemoved: 7,
} as const;
export type ZkEventType = Exclude<keyof typeof EventType, 'None'>;

/** Watcher.WatcherType, for removeWatches and checkWatches. */
export const WatcherType = { children: 1, data: 2, any: 3 } as const;
export type ZkWatcherType = keyof typeof WatcherType;

/** ZooDefs.AddWatchModes. */
export const AddWatchMode = { persistent: 0, persistent_recursive: 1 } as const;
export type ZkAddWatchMode = keyof typeof AddWatchMode;

export interface ZkStat {
  readonly czxid: bigint;
  readonly mzxid: bigint;
  readonly ctime: number;
  readonly mtime: number;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: bigint;
  readonly dataLength: number;
  readonly numChildren: number;
  readonly pzxid: bigint;
}

export interface ZkAclEntry {
  readonly perms: number;
  readonly scheme: string;
  readonly id: string;
}

export const OPEN_ACL_UNSAFE: readonly ZkAclEntry[] = [{ perms: 31, scheme: 'world', id: 'anyone' }];

export function readStat(r: JuteReader): ZkStat {
  return {
    czxid: r.long(), mzxid: r.long(), ctime: Number(r.long()), mtime: Number(r.long()),
    version: r.int(), cversion: r.int(), aversion: r.int(), ephemeralOwner: r.long(),
    dataLength: r.int(), numChildren: r.int(), pzxid: r.long(),
  };
}

export function writeAcl(w: JuteWriter, acl: readonly ZkAclEntry[]): void {
  w.vector(acl, (v, e) => v.int(e.perms).ustring(e.scheme).ustring(e.id));
}

export function readAcl(r: JuteReader): ZkAclEntry[] {
  return r.vector((v) => ({ perms: v.int(), scheme: v.ustring() ?? '', id: v.ustring() ?? '' }));
}

export function readStrings(r: JuteReader): string[] {
  return r.vector((v) => v.ustring() ?? '');
}

export interface ConnectRequest {
  readonly lastZxidSeen: bigint;
  readonly timeoutMs: number;
  readonly sessionId: bigint;
  readonly password: Uint8Array;
  readonly readOnly: boolean;
}

export function writeConnectRequest(w: JuteWriter, c: ConnectRequest): void {
  w.int(0).long(c.lastZxidSeen).int(c.timeoutMs).long(c.sessionId).buffer(c.password).bool(c.readOnly);
}

export interface ConnectResponse {
  readonly timeoutMs: number;
  readonly sessionId: bigint;
  readonly password: Uint8Array;
  readonly readOnly: boolean;
}

export function readConnectResponse(r: JuteReader): ConnectResponse {
  r.int(); // protocolVersion
  const timeoutMs = r.int();
  const sessionId = r.long();
  const password = r.buffer() ?? new Uint8Array(0);
  // A server older than 3.4 sends no readOnly flag.
  const readOnly = r.remaining > 0 ? r.bool() : false;
  return { timeoutMs, sessionId, password, readOnly };
}

export interface ReplyHeader {
  readonly xid: number;
  readonly zxid: bigint;
  readonly err: number;
}

export function readReplyHeader(r: JuteReader): ReplyHeader {
  return { xid: r.int(), zxid: r.long(), err: r.int() };
}

/** A create of any mode: create2 (15), createContainer (19) or createTTL (21), each answered with path + Stat. */
export interface CreateOp {
  readonly type: 'create';
  readonly path: string;
  readonly data: Uint8Array;
  readonly acl: readonly ZkAclEntry[];
  readonly mode: ZkCreateMode;
  /** Only for the TTL modes. */
  readonly ttlMs?: number;
}
export interface DeleteOp { readonly type: 'delete'; readonly path: string; readonly version: number }
export interface SetDataOp { readonly type: 'setData'; readonly path: string; readonly data: Uint8Array; readonly version: number }
export interface CheckOp { readonly type: 'check'; readonly path: string; readonly version: number }
export type WriteOp = CreateOp | DeleteOp | SetDataOp | CheckOp;
export type ReadOp = { readonly type: 'getData'; readonly path: string } | { readonly type: 'getChildren'; readonly path: string };

export function createOpCode(op: CreateOp): number {
  if (op.mode === 'container') return OpCode.createContainer;
  if (op.mode === 'persistent_with_ttl' || op.mode === 'persistent_sequential_with_ttl') return OpCode.createTTL;
  return OpCode.create2;
}

export function writeOpCodeOf(op: WriteOp): number {
  switch (op.type) {
    case 'create': return createOpCode(op);
    case 'delete': return OpCode.delete;
    case 'setData': return OpCode.setData;
    case 'check': return OpCode.check;
  }
}

/** The request record of one write (alone or inside a multi); the version is sent as given, 0 included. */
export function writeWriteOp(w: JuteWriter, op: WriteOp): void {
  switch (op.type) {
    case 'create':
      w.ustring(op.path).buffer(op.data);
      writeAcl(w, op.acl);
      w.int(CreateFlag[op.mode]);
      if (createOpCode(op) === OpCode.createTTL) w.long(BigInt(op.ttlMs ?? -1));
      return;
    case 'delete':
    case 'check':
      w.ustring(op.path).int(op.version);
      return;
    case 'setData':
      w.ustring(op.path).buffer(op.data).int(op.version);
      return;
  }
}

export type MultiResult =
  /** stat: absent when the server answered a plain create (ZooKeeper 3.8.0 answers create2 in a multi so). */
  | { readonly type: 'create'; readonly path: string; readonly stat: ZkStat | undefined }
  | { readonly type: 'delete' }
  | { readonly type: 'setData'; readonly stat: ZkStat }
  | { readonly type: 'check' }
  | { readonly type: 'getData'; readonly data: Uint8Array; readonly stat: ZkStat }
  | { readonly type: 'getChildren'; readonly children: string[] }
  | { readonly type: 'error'; readonly err: number };

/** MultiOperationRecord: a MultiHeader {type, done=false, err=-1} before each op, one with done=true last. */
export function writeMulti(w: JuteWriter, ops: readonly (WriteOp | ReadOp)[]): void {
  for (const op of ops) {
    if (op.type === 'getData' || op.type === 'getChildren') {
      w.int(op.type === 'getData' ? OpCode.getData : OpCode.getChildren).bool(false).int(-1);
      w.ustring(op.path).bool(false);
      continue;
    }
    w.int(writeOpCodeOf(op)).bool(false).int(-1);
    writeWriteOp(w, op);
  }
  w.int(-1).bool(true).int(-1);
}

/** MultiResponse: one result per op (an error result for each op of a failed multi), until done. */
export function readMulti(r: JuteReader): MultiResult[] {
  const results: MultiResult[] = [];
  for (;;) {
    const type = r.int();
    const done = r.bool();
    const err = r.int();
    if (done) return results;
    results.push(readMultiResult(r, type, err));
  }
}

function readMultiResult(r: JuteReader, type: number, err: number): MultiResult {
  switch (type) {
    case OpCode.create: return { type: 'create', path: r.ustring() ?? '', stat: undefined };
    case OpCode.create2: return { type: 'create', path: r.ustring() ?? '', stat: readStat(r) };
    case OpCode.delete: return { type: 'delete' };
    case OpCode.setData: return { type: 'setData', stat: readStat(r) };
    case OpCode.check: return { type: 'check' };
    case OpCode.getData: return { type: 'getData', data: r.buffer() ?? new Uint8Array(0), stat: readStat(r) };
    case OpCode.getChildren: return { type: 'getChildren', children: readStrings(r) };
    case OpCode.error: r.int(); return { type: 'error', err };
    default: throw new Error(`multi result of unknown type ${type}`);
  }
}

export const ZERO_STAT: ZkStat = {
  czxid: 0n, mzxid: 0n, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0,
  ephemeralOwner: 0n, dataLength: 0, numChildren: 0, pzxid: 0n,
};

export interface WatcherEvent {
  readonly type: ZkEventType;
  readonly state: number;
  readonly path: string;
}

const EVENT_NAMES = new Map<number, ZkEventType>(
  Object.entries(EventType).filter(([name]) => name !== 'None').map(([name, code]) => [code, name as ZkEventType]),
);

/** A notification's body; undefined for a state-only event (type None), which servers do not send to clients. */
export function readWatcherEvent(r: JuteReader): WatcherEvent | undefined {
  const typeCode = r.int();
  const state = r.int();
  const path = r.ustring() ?? '';
  const type = EVENT_NAMES.get(typeCode);
  return type === undefined ? undefined : { type, state, path };
}

export interface SetWatches2 {
  readonly relativeZxid: bigint;
  readonly data: readonly string[];
  readonly exist: readonly string[];
  readonly child: readonly string[];
  readonly persistent: readonly string[];
  readonly persistentRecursive: readonly string[];
}

export function writeSetWatches2(w: JuteWriter, s: SetWatches2): void {
  const strings = (list: readonly string[]) => w.vector(list, (v, p) => v.ustring(p));
  w.long(s.relativeZxid);
  strings(s.data);
  strings(s.exist);
  strings(s.child);
  strings(s.persistent);
  strings(s.persistentRecursive);
}

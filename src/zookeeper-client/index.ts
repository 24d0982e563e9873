/** A ZooKeeper client in TypeScript: the wire protocol (jute over TCP), sessions, watches. */
export { ZooKeeperClient, type ClientListener, type ClientOptions } from './client.ts';
export { ZkSession, type ServerAddress, type SessionState } from './session.ts';
export type { ZkTlsOptions } from './connection.ts';
export type { CreateOp, MultiResult, ReadOp, WatcherEvent, WriteOp, ZkAclEntry, ZkCreateMode, ZkEventType, ZkStat } from './records.ts';
export { OPEN_ACL_UNSAFE } from './records.ts';

// The slice of node-zookeeper-client (no bundled types) the oracle uses: the wire cross-check
// (oracle.e2e.test.ts) and the per-session ZooKeeper driver (zk-session-driver.ts).
declare module 'node-zookeeper-client' {
  export interface Stat {
    czxid: Buffer; mzxid: Buffer; ctime: Buffer; mtime: Buffer; version: number; cversion: number;
    aversion: number; ephemeralOwner: Buffer; dataLength: number; numChildren: number; pzxid: Buffer;
  }
  /** A watch notification: type 1 NodeCreated, 2 NodeDeleted, 3 NodeDataChanged, 4 NodeChildrenChanged. */
  export interface Event { type: number; name: string; path: string }
  /** The library's error: getCode() is ZooKeeper's numeric code (e.g. -101 for NONODE). */
  export interface ZkException extends Error { getCode(): number; getName(): string }
  export type Watcher = (event: Event) => void;
  export type Callback<T> = (error: ZkException | null, result: T, stat: Stat) => void;
  export interface Client {
    connect(): void;
    close(): void;
    once(event: 'connected' | 'disconnected' | 'expired', listener: () => void): void;
    on(event: 'connected' | 'disconnected' | 'expired', listener: () => void): void;
    getSessionId(): Buffer;
    getSessionPassword(): Buffer;
    create(path: string, data: Buffer, mode: number, callback: (error: ZkException | null, path: string) => void): void;
    setData(path: string, data: Buffer, version: number, callback: (error: ZkException | null, stat: Stat) => void): void;
    remove(path: string, version: number, callback: (error: ZkException | null) => void): void;
    exists(path: string, watcher: Watcher, callback: (error: ZkException | null, stat: Stat | null) => void): void;
    exists(path: string, callback: (error: ZkException | null, stat: Stat | null) => void): void;
    getData(path: string, watcher: Watcher, callback: (error: ZkException | null, data: Buffer | undefined, stat: Stat) => void): void;
    getData(path: string, callback: (error: Error | null, data: Buffer | undefined, stat: Stat) => void): void;
    getChildren(path: string, watcher: Watcher, callback: (error: ZkException | null, children: string[], stat: Stat) => void): void;
    getChildren(path: string, callback: (error: Error | null, children: string[], stat: Stat) => void): void;
  }
  export const CreateMode: { PERSISTENT: 0; EPHEMERAL: 1; PERSISTENT_SEQUENTIAL: 2; EPHEMERAL_SEQUENTIAL: 3 };
  export function createClient(connectionString: string, options?: { sessionTimeout?: number; retries?: number }): Client;
  const zookeeper: { createClient: typeof createClient; CreateMode: typeof CreateMode };
  export default zookeeper;
}

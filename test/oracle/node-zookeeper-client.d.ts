// The slice of node-zookeeper-client (no bundled types) the oracle's wire cross-check uses.
declare module 'node-zookeeper-client' {
  export interface Stat {
    czxid: Buffer; mzxid: Buffer; ctime: Buffer; mtime: Buffer; version: number; cversion: number;
    aversion: number; ephemeralOwner: Buffer; dataLength: number; numChildren: number; pzxid: Buffer;
  }
  export interface Client {
    connect(): void;
    close(): void;
    once(event: 'connected', listener: () => void): void;
    getData(path: string, callback: (error: Error | null, data: Buffer | undefined, stat: Stat) => void): void;
    getChildren(path: string, callback: (error: Error | null, children: string[], stat: Stat) => void): void;
  }
  export function createClient(connectionString: string, options?: { sessionTimeout?: number; retries?: number }): Client;
  const zookeeper: { createClient: typeof createClient };
  export default zookeeper;
}

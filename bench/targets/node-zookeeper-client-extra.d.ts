// The parts of node-zookeeper-client the bench uses beyond test/oracle's declarations: multi
// (Transaction) for bulk loading, and the client options it passes.
import 'node-zookeeper-client';

declare module 'node-zookeeper-client' {
  export interface Transaction {
    create(path: string, data: Buffer, mode?: number): Transaction;
    commit(callback: (error: ZkException | null, results: unknown[]) => void): void;
  }
  export interface Client {
    transaction(): Transaction;
  }
}

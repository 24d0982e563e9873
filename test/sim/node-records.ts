/**
 * What the clients of the node simulation did, as the checkers see it: one OpRecord per request
 * (a transaction, a session's open or close, a watch request) with its call time, its return
 * time (Infinity while the outcome is unknown) and what it returned; one ReadRecord per znode
 * read (a leader's zero-duration read, or a linearizable read through ReadIndex with the time of
 * its readBarrier call and the time its tree was read); and the broken promises of the host API.
 *
 * The Recorder also counts what is still unsettled, so the cluster lets the settled promises'
 * callbacks run (flush) after each event: they record the history clock at that instant.
 */
import type { ZkError } from '../../src/core/errors.ts';
import type { SessionResult, WatchResult, WriteResult } from '../../src/core/tree/results.ts';
import type { Txn } from '../../src/core/tree/txn.ts';
import type { NodeCluster, SimNode } from './node-cluster.ts';
import type { NodeOutput } from './node-model.ts';

/** The only errors of a request that was never applied; any other is the applied transaction's result. */
export const NOT_ORDERED = new Set(['CONNECTIONLOSS', 'THROTTLEDOP']);

/**
 * done: a reply arrived (the result may be an error); refused: the host said it was certainly not
 * applied (a follower or a full queue refused it, or its log slot went to another entry);
 * unknown: CONNECTIONLOSS otherwise. The final checks verify what the host said.
 */
export type RecordStatus = 'pending' | 'done' | 'refused' | 'unknown';

export interface OpRecord {
  readonly id: number;
  readonly client: number;
  readonly node: number;
  /** The host's incarnation at submit: a request at a host that never crashed must get an answer. */
  readonly incarnation: number;
  readonly call: number;
  /** The tick it was sent at (a client gives up waiting after a while). */
  readonly tick: number;
  ret: number;
  readonly txn: Txn;
  status: RecordStatus;
  zxid: number;
  result: WriteResult | SessionResult | WatchResult | undefined;
}

export interface ReadRecord {
  /** A leader's read right after its loop applied something, or a reader's through ReadIndex at any node. */
  readonly kind: 'leader' | 'linearizable';
  /** Who read (its label in a failure's report). */
  readonly client: string;
  readonly node: number;
  /** The history clock when the read was asked for (a leader's read: when it was taken). */
  readonly call: number;
  /** When the tree was read. */
  readonly ret: number;
  readonly path: string;
  readonly output: NodeOutput;
}

/**
 * A client waits for one request at a time; it gives up waiting after GIVE_UP_TICKS (as a real
 * one times out, say at a leader cut off from the quorum), and a late answer still counts.
 */
export interface Caller {
  readonly id: number;
  waiting: OpRecord | undefined;
}

/** Two election timeouts. */
export const GIVE_UP_TICKS = 20;

export class Recorder {
  readonly records: OpRecord[] = [];
  readonly reads: ReadRecord[] = [];
  /** Broken promises of the host API (a follower acknowledging, an unexpected error). */
  readonly violations: string[] = [];
  private unsettled = 0;

  constructor(private readonly cluster: NodeCluster) {}

  /** Records a request as called at `call`; the client waits for it until it settles (or gives up). */
  called(client: Caller, node: SimNode, txn: Txn, call = ++this.cluster.time): OpRecord {
    const record: OpRecord = {
      id: this.records.length, client: client.id, node: node.id, incarnation: node.incarnation, call, tick: this.cluster.tick, ret: Infinity, txn,
      status: 'pending', zxid: 0, result: undefined,
    };
    this.records.push(record);
    client.waiting = record;
    this.unsettled++;
    return record;
  }

  /** Whether the client still waits for its request. */
  busy(client: Caller): boolean {
    return client.waiting !== undefined && this.cluster.tick - client.waiting.tick < GIVE_UP_TICKS;
  }

  /** The request's reply arrived: it returns now. */
  answered(record: OpRecord, zxid: number, result: OpRecord['result']): void {
    Object.assign(record, { status: 'done', ret: this.cluster.time, zxid, result });
  }

  settle(client: Caller, record: OpRecord): void {
    if (client.waiting === record) client.waiting = undefined;
    this.unsettled--;
  }

  /** Something else the flush must wait for (a linearizable read in flight). */
  began(): void {
    this.unsettled++;
  }

  ended(): void {
    this.unsettled--;
  }

  /** A request the host could not order: refused when certainly not applied, else of unknown outcome. */
  notOrdered(record: OpRecord, error: ZkError, refusedExpected: boolean): void {
    // Certainly not applied: never proposed (not the leader, throttled), or its log slot went to another entry.
    const notApplied = error.code === 'CONNECTIONLOSS' && (refusedExpected || error.message.includes('was not applied'));
    if (error.code === 'THROTTLEDOP' || notApplied) record.status = 'refused';
    else if (error.code === 'CONNECTIONLOSS') record.status = 'unknown';
    else this.violations.push(`request #${record.id} failed with ${error.code}: ${error.message}`);
  }

  /**
   * Lets the callbacks of settled requests run (they record the current history time): the
   * longest chain, an open through SessionManager's awaits, takes four microtask turns; a
   * linearizable read through readBarrier's, five.
   */
  async flush(): Promise<void> {
    if (this.unsettled === 0) return;
    for (let i = 0; i < 8; i++) await null;
  }

  get pending(): number {
    return this.unsettled;
  }
}

/**
 * Clients of the node simulation. Each client has at most one request in flight and submits it
 * at the current leader (or, now and then, at any running node, which must refuse it with
 * CONNECTIONLOSS): creates of shared and of unique paths, setData with unique values
 * (unconditional and compare-and-set), deletes, multis over several paths, sessions (open,
 * close, expire; ephemeral creates under an open session), sequential creates, and containers
 * and TTL nodes for the leader's Reaper to clean up. Every request is recorded with its call time,
 * its return time (Infinity while the outcome is unknown) and what it returned. Reads are taken
 * from a leader's tree right after its loop applied something, once it has applied an entry of
 * its own term (so everything earlier leaders acknowledged is in its tree): zero-duration.
 */
import { epochOf } from '../../src/core/consensus/zxid.ts';
import { prepareWrite } from '../../src/core/tree/prepare.ts';
import type { ApplyOutput, SessionResult, WriteResult } from '../../src/core/tree/results.ts';
import type { Txn, TxnEnvelope, WriteOp } from '../../src/core/tree/txn.ts';
import type { CreateMode } from '../../src/core/tree/znode.ts';
import { NotCommittedError } from '../../src/node/node-host.ts';
import type { Prng } from '../support/prng.ts';
import type { NodeCluster, SimNode } from './node-cluster.ts';
import type { NodeOutput } from './node-model.ts';

/** Persistent paths every client contends on. */
export const SHARED_PATHS = ['/k0', '/k1', '/k2', '/k3'] as const;
/** Paths created as ephemerals only. */
export const EPHEMERAL_PATHS = ['/e0', '/e1', '/e2'] as const;
/** The paths the linearizability check follows (sequential, container and TTL nodes are left to the final checks). */
export const MODELED_PATH = /^\/(k|e|u)\d+$/;
const MAX_DATA_BYTES = 1024;

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
  ret: number;
  readonly txn: Txn;
  status: RecordStatus;
  zxid: number;
  result: WriteResult | SessionResult | undefined;
}

export interface ReadRecord {
  readonly node: number;
  readonly time: number;
  readonly path: string;
  readonly output: NodeOutput;
}

interface Client {
  readonly id: number;
  busy: boolean;
  /** The last version this client saw of each path: its compare-and-set guess. */
  readonly versions: Map<string, number>;
}

export interface WorkloadOptions {
  readonly clients: number;
  /** Chance per tick that an idle client sends a request. */
  readonly rate: number;
  /** Chance that a request goes to a random running node rather than a leader. */
  readonly strayRate: number;
}

const text = new TextDecoder();
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

export class Workload {
  readonly records: OpRecord[] = [];
  readonly reads: ReadRecord[] = [];
  /** Broken promises of the host API (a follower acknowledging, an unexpected error). */
  readonly violations: string[] = [];
  private readonly clients: Client[];
  /** Sessions acknowledged open and not yet asked to close. */
  private readonly open: number[] = [];
  private readonly touched = new Map<number, Set<string>>();
  /** Container children and TTL nodes acknowledged created (the latest few). */
  private readonly cleanables: string[] = [];
  private unsettled = 0;
  private counter = 0;

  constructor(private readonly cluster: NodeCluster, private readonly rng: Prng, private readonly options: WorkloadOptions) {
    this.clients = Array.from({ length: options.clients }, (_, i) => ({ id: i + 1, busy: false, versions: new Map() }));
  }

  /** Each idle client may send one request. */
  submitSome(): void {
    for (const client of this.clients) {
      if (client.busy || !this.rng.chance(this.options.rate)) continue;
      const node = this.target();
      if (node) this.submit(client, node, this.nextTxn(client));
    }
  }

  /** Lets the callbacks of settled requests run (they record the current history time). */
  async flush(): Promise<void> {
    if (this.unsettled === 0) return;
    for (let i = 0; i < 3; i++) await null;
  }

  get pending(): number {
    return this.unsettled;
  }

  private target(): SimNode | undefined {
    const leaders = this.cluster.leaders();
    if (leaders.length > 0 && !this.rng.chance(this.options.strayRate)) return this.rng.pick(leaders);
    // With no leader known, a client mostly waits; now and then it tries some node.
    const up = this.cluster.up();
    return up.length > 0 && (leaders.length > 0 || this.rng.chance(0.2)) ? this.rng.pick(up) : undefined;
  }

  private value(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  private nextTxn(client: Client): Txn {
    const r = this.rng.next();
    if (r < 0.58) return this.keyed(client, r);
    if (r < 0.62) return write([create(`/u${this.counter}`, this.value('c'))]);
    if (r < 0.66) {
      const session = this.open.length > 0 && this.rng.chance(0.5) ? this.rng.pick(this.open) : 0;
      return write([create(session ? '/es' : '/s', this.value('c'), session ? 'ephemeral_sequential' : 'persistent_sequential')], false, session);
    }
    if (r < 0.76) return this.cleanable();
    if (r < 0.84 || this.open.length === 0) return { type: 'createSession', timeoutMs: 30_000, tokenHash: this.value('h') };
    const session = this.rng.pick(this.open);
    if (r < 0.9) {
      this.open.splice(this.open.indexOf(session), 1);
      return { type: 'closeSession', sessionId: session, reason: this.rng.chance(0.7) ? 'closed' : 'expired' };
    }
    return write([create(this.rng.pick(EPHEMERAL_PATHS), this.value('c'), 'ephemeral')], false, session);
  }

  /** Requests on the paths the linearizability check follows. */
  private keyed(client: Client, r: number): Txn {
    const any = (): string => this.rng.pick(this.rng.chance(0.7) ? SHARED_PATHS : EPHEMERAL_PATHS);
    if (r < 0.14) return write([create(this.rng.pick(SHARED_PATHS), this.value('c'))]);
    if (r < 0.28) return write([{ type: 'setData', path: any(), data: bytes(this.value('v')), version: -1 }]);
    if (r < 0.4) {
      const path = any();
      return write([{ type: 'setData', path, data: bytes(this.value('v')), version: this.guess(client, path) }]);
    }
    if (r < 0.49) {
      const path = any();
      return write([{ type: 'delete', path, version: this.rng.chance(0.5) ? -1 : this.guess(client, path) }]);
    }
    return this.multi(client);
  }

  /** Containers with children, TTL nodes: what the leader's Reaper cleans up. */
  private cleanable(): Txn {
    const container = this.rng.pick(['/c0', '/c1']);
    const known = this.cleanables.length > 0 ? this.rng.pick(this.cleanables) : undefined;
    switch (this.rng.int(5)) {
      case 0:
        return write([create(container, this.value('c'), 'container')]);
      case 1:
        return write([create(`${container}/x${this.counter}`, this.value('c'))]);
      case 2:
        return write([{ type: 'create', path: `/t${this.counter}`, data: bytes(this.value('c')), mode: 'persistent_with_ttl', ttlMs: 100 * (1 + this.rng.int(10)) }]);
      case 3:
        return known ? write([{ type: 'delete', path: known, version: -1 }]) : write([create(container, this.value('c'), 'container')]);
      default:
        return known ? write([{ type: 'setData', path: known, data: bytes(this.value('v')), version: -1 }]) : write([create(`${container}/x${this.counter}`, this.value('c'))]);
    }
  }

  private guess(client: Client, path: string): number {
    return client.versions.get(path) ?? this.rng.int(3);
  }

  /** Two or three ops on distinct shared paths, all or nothing; sometimes with an ephemeral create too. */
  private multi(client: Client): Txn {
    const paths = [...SHARED_PATHS];
    for (let i = paths.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [paths[i], paths[j]] = [paths[j]!, paths[i]!];
    }
    const ops = paths.slice(0, 2 + this.rng.int(2)).map((path): WriteOp => {
      const version = this.rng.chance(0.5) ? -1 : this.guess(client, path);
      switch (this.rng.int(4)) {
        case 0: return { type: 'check', path, version };
        case 1: return create(path, this.value('c'));
        case 2: return { type: 'setData', path, data: bytes(this.value('v')), version };
        default: return { type: 'delete', path, version };
      }
    });
    if (this.open.length === 0 || !this.rng.chance(0.3)) return write(ops, true);
    ops.splice(this.rng.int(ops.length + 1), 0, create(this.rng.pick(EPHEMERAL_PATHS), this.value('c'), 'ephemeral'));
    return write(ops, true, this.rng.pick(this.open));
  }

  private submit(client: Client, node: SimNode, txn: Txn): void {
    const host = node.host!;
    const envelope = envelopeOf(txn, this.cluster.tick);
    const refusedExpected = host.status().role !== 'leader';
    this.cluster.time++;
    const record: OpRecord = { id: this.records.length, client: client.id, node: node.id, incarnation: node.incarnation, call: this.cluster.time, ret: Infinity, txn, status: 'pending', zxid: 0, result: undefined };
    this.records.push(record);
    client.busy = true;
    this.unsettled++;
    host.submit(envelope).then(
      (committed) => {
        if (refusedExpected) this.violations.push(`n${node.id} acknowledged request #${record.id} while not the leader`);
        Object.assign(record, { status: 'done', ret: this.cluster.time, zxid: committed.zxid, result: committed.result });
        this.learn(client, record);
      },
      (error: unknown) => {
        const known = error instanceof NotCommittedError ? error.error : undefined;
        // Certainly not applied: never proposed (not the leader, throttled), or its log slot went to another entry.
        const notApplied = known?.code === 'CONNECTIONLOSS' && (refusedExpected || known.message.includes('was not applied'));
        if (known?.code === 'THROTTLEDOP' || notApplied) record.status = 'refused';
        else if (known?.code === 'CONNECTIONLOSS') record.status = 'unknown';
        else this.violations.push(`request #${record.id} failed with ${String(error)}`);
        this.settle(client);
      },
    );
  }

  /** What a client learns from a reply: versions for its next compare-and-set, sessions opened. */
  private learn(client: Client, record: OpRecord): void {
    const { result, txn } = record;
    if (txn.type === 'createSession' && result?.ok && 'sessionId' in result) this.open.push(result.sessionId);
    if (result && 'results' in result) {
      for (const r of result.results) {
        if ('stat' in r) client.versions.set(r.path, r.stat.version);
        if (r.type === 'create' && /^\/(c\d\/x|t)\d+$/.test(r.path)) this.cleanables.push(r.path);
      }
      if (this.cleanables.length > 20) this.cleanables.shift();
    }
    this.settle(client);
  }

  private settle(client: Client): void {
    client.busy = false;
    this.unsettled--;
  }

  onApplied(node: SimNode, output: ApplyOutput): void {
    let set = this.touched.get(node.id);
    if (!set) this.touched.set(node.id, (set = new Set()));
    for (const event of output.events) if (MODELED_PATH.test(event.path)) set.add(event.path);
  }

  onRestart(node: SimNode): void {
    this.touched.get(node.id)?.clear();
  }

  /** After a leader's loop applied changes: read what changed, and one shared path. */
  afterRun(node: SimNode): void {
    const set = this.touched.get(node.id);
    const host = node.host;
    if (!host || !set || set.size === 0) return;
    const status = host.status();
    if (status.role === 'leader' && epochOf(host.appliedZxid) === status.term) {
      set.add(this.rng.pick(SHARED_PATHS));
      for (const path of set) {
        const znode = host.tree.get(path);
        const output: NodeOutput = znode
          ? { ok: true, exists: true, data: text.decode(znode.data), version: znode.version, owner: znode.ephemeralOwner }
          : { ok: true, exists: false };
        this.reads.push({ node: node.id, time: this.cluster.time, path, output });
      }
    }
    set.clear();
  }
}

function create(path: string, data: string, mode: CreateMode = 'persistent'): WriteOp {
  return { type: 'create', path, data: bytes(data), mode, ttlMs: -1 };
}

function write(ops: WriteOp[], multi = false, sessionId = 0): Txn {
  return { type: 'write', ops, multi, sessionId };
}

/** The envelope the leader would log, prepared as the HTTP layer does (time from the tick). */
function envelopeOf(txn: Txn, tick: number): TxnEnvelope {
  const timeMs = tick * 100;
  if (txn.type !== 'write') return { timeMs, txn };
  const prepared = prepareWrite(txn.ops, txn.multi, { timeMs, sessionId: txn.sessionId, maxDataBytes: MAX_DATA_BYTES });
  if (!prepared.ok) throw new Error(`workload made an invalid request: ${prepared.error.message}`);
  return prepared.envelope;
}

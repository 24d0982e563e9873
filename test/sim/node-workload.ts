/**
 * Clients of the node simulation. Each client has at most one request in flight (what it asks:
 * node-requests.ts) and submits it at the current leader (or, now and then, at any running node,
 * which must refuse it with CONNECTIONLOSS). Every request is recorded with its call time, its
 * return time (Infinity while the outcome is unknown) and what it returned.
 *
 * Sessions go through the host's real SessionManager: a client opens them (its own, used for its
 * ephemeral creates), closes them, and while it lives sends a keepalive for each every tick to the
 * node it takes for the leader. It keeps that belief until the node stops leading (or crashes),
 * then looks for the new one: at once when healed, on half the ticks before: a keepalive at a node that
 * does not lead is lost (a new leader grants every session a fresh timeout anyway). In the fault
 * phase a client may pause (sending nothing for 10 to 60 ticks, so its sessions may rightly
 * expire; it resumes when healed) or die: it sends nothing more, and the leader must
 * expire its sessions. A session whose open or close got no answer is given up. Reads are taken
 * from a leader's tree right after its loop applied something, once it has applied an entry of
 * its own term (so everything earlier leaders acknowledged is in its tree): zero-duration.
 */
import { epochOf } from '../../src/core/consensus/zxid.ts';
import type { ZkError } from '../../src/core/errors.ts';
import { negotiateTimeout } from '../../src/core/session/session-tracker.ts';
import { prepareWrite } from '../../src/core/tree/prepare.ts';
import type { ApplyOutput, SessionResult, WriteResult } from '../../src/core/tree/results.ts';
import type { Txn, TxnEnvelope } from '../../src/core/tree/txn.ts';
import { NotCommittedError } from '../../src/node/node-host.ts';
import { hashToken } from '../../src/node/session-manager.ts';
import type { Prng } from '../support/prng.ts';
import { MS_PER_TICK, SESSION_TICK_TIME_MS, type NodeCluster, type SimNode } from './node-cluster.ts';
import type { NodeOutput } from './node-model.ts';
import { MODELED_PATH, RequestMaker, SHARED_PATHS } from './node-requests.ts';
import { SessionLedger } from './node-sessions.ts';

const MAX_DATA_BYTES = 1024;
/** The only errors of a request that was never applied; any other is the applied transaction's result. */
const NOT_ORDERED = new Set(['CONNECTIONLOSS', 'THROTTLEDOP']);

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

export interface Client {
  readonly id: number;
  busy: boolean;
  /** A dead client sends nothing more, keepalives included. */
  alive: boolean;
  /** A paused client sends nothing before this tick. */
  pausedUntil: number;
  /** The node it takes for the leader: where its keepalives go. */
  leader: number;
  /** Its sessions acknowledged open, not asked to close, not seen ending: the ones it keeps alive. */
  readonly sessions: number[];
  /** The last version this client saw of each path: its compare-and-set guess. */
  readonly versions: Map<string, number>;
}

export interface WorkloadOptions {
  readonly clients: number;
  /** Chance per tick that an idle client sends a request. */
  readonly rate: number;
  /** Chance that a request goes to a random running node rather than a leader. */
  readonly strayRate: number;
  /** Chance per tick that a live client dies, or pauses (in the fault phase). */
  readonly deathRate: number;
  readonly pauseRate: number;
}

const text = new TextDecoder();

export class Workload {
  readonly records: OpRecord[] = [];
  readonly reads: ReadRecord[] = [];
  /** Broken promises of the host API (a follower acknowledging, an unexpected error). */
  readonly violations: string[] = [];
  readonly clients: Client[];
  readonly sessions = new SessionLedger();
  private healed = false;
  private readonly touched = new Map<number, Set<string>>();
  private readonly requests: RequestMaker;
  private unsettled = 0;

  /** `rng`: the requests and their targets; `life`: deaths, pauses and keepalive targets. */
  constructor(private readonly cluster: NodeCluster, private readonly rng: Prng, private readonly life: Prng, private readonly options: WorkloadOptions) {
    this.clients = Array.from({ length: options.clients }, (_, i) => ({ id: i + 1, busy: false, alive: true, pausedUntil: 0, leader: 0, sessions: [], versions: new Map() }));
    this.requests = new RequestMaker(rng);
  }

  /** Each idle live client may send one request. */
  submitSome(): void {
    for (const client of this.clients) {
      if (!this.active(client) || client.busy || !this.rng.chance(this.options.rate)) continue;
      const node = this.target();
      if (!node) continue;
      const request = this.requests.next(client);
      if (request.type === 'txn') this.submit(client, node, request.txn);
      else if (request.type === 'open') this.openSession(client, node, request.requestedMs);
      else this.closeSession(client, node, request.session);
    }
  }

  /**
   * Now and then a client dies (from now on it sends nothing, and its sessions must expire) or
   * pauses (it sends nothing for a while, and its sessions may expire).
   */
  dieOrPause(): void {
    for (const client of this.clients) {
      if (!this.active(client)) continue;
      if (this.life.chance(this.options.deathRate)) client.alive = false;
      else if (this.life.chance(this.options.pauseRate)) {
        client.pausedUntil = this.cluster.tick + 10 + this.life.int(50);
      }
    }
  }

  /** Healed: paused clients resume, and every client finds the leader at once. */
  heal(): void {
    this.healed = true;
    for (const client of this.clients) client.pausedUntil = 0;
  }

  private active(client: Client): boolean {
    return client.alive && client.pausedUntil <= this.cluster.tick;
  }

  /** Every active client keeps its sessions alive at the node it takes for the leader (if that one has stopped leading, they are lost). */
  sendKeepalives(): void {
    const leaders = this.cluster.leaders();
    for (const client of this.clients) {
      if (!this.active(client) || client.sessions.length === 0) continue;
      const believed = leaders.some((n) => n.id === client.leader);
      if (!believed && leaders.length > 0 && (this.healed || this.life.chance(0.5))) client.leader = this.life.pick(leaders).id;
      const node = client.leader === 0 ? undefined : this.cluster.node(client.leader);
      if (!node?.sessions) continue;
      const { role, term } = node.host!.status();
      for (const id of client.sessions) {
        node.sessions.keepalive(id);
        if (role === 'leader') this.sessions.keptAlive(id, term, this.cluster.tick);
      }
    }
  }

  get deaths(): number {
    return this.clients.filter((c) => !c.alive).length;
  }

  /**
   * Lets the callbacks of settled requests run (they record the current history time): the
   * longest chain, an open through SessionManager's awaits, takes four microtask turns.
   */
  async flush(): Promise<void> {
    if (this.unsettled === 0) return;
    for (let i = 0; i < 6; i++) await null;
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

  /** Records a request as called now; the client is busy until it settles. */
  private called(client: Client, node: SimNode, txn: Txn, call: number): OpRecord {
    const record: OpRecord = { id: this.records.length, client: client.id, node: node.id, incarnation: node.incarnation, call, ret: Infinity, txn, status: 'pending', zxid: 0, result: undefined };
    this.records.push(record);
    client.busy = true;
    this.unsettled++;
    return record;
  }

  private submit(client: Client, node: SimNode, txn: Txn): void {
    const host = node.host!;
    const envelope = envelopeOf(txn, this.cluster.tick);
    const refusedExpected = host.status().role !== 'leader';
    const record = this.called(client, node, txn, ++this.cluster.time);
    host.submit(envelope).then(
      (committed) => {
        if (refusedExpected) this.violations.push(`n${node.id} acknowledged request #${record.id} while not the leader`);
        Object.assign(record, { status: 'done', ret: this.cluster.time, zxid: committed.zxid, result: committed.result });
        this.learn(client, record);
      },
      (error: unknown) => {
        if (error instanceof NotCommittedError) this.notOrdered(record, error.error, refusedExpected);
        else this.violations.push(`request #${record.id} failed with ${String(error)}`);
        this.settle(client);
      },
    );
  }

  /** A request the host could not order: refused when certainly not applied, else of unknown outcome. */
  private notOrdered(record: OpRecord, error: ZkError, refusedExpected: boolean): void {
    // Certainly not applied: never proposed (not the leader, throttled), or its log slot went to another entry.
    const notApplied = error.code === 'CONNECTIONLOSS' && (refusedExpected || error.message.includes('was not applied'));
    if (error.code === 'THROTTLEDOP' || notApplied) record.status = 'refused';
    else if (error.code === 'CONNECTIONLOSS') record.status = 'unknown';
    else this.violations.push(`request #${record.id} failed with ${error.code}: ${error.message}`);
  }

  /**
   * Opens a session with the host's SessionManager. It draws the token synchronously inside
   * open() (unless it refuses at once: too many sessions), so the request's txn is known here.
   */
  private openSession(client: Client, node: SimNode, requestedMs: number): void {
    const refusedExpected = node.host!.status().role !== 'leader';
    const tokens = this.cluster.tokens;
    const issued = tokens.issued;
    const call = ++this.cluster.time;
    const opening = node.sessions!.open(requestedMs);
    const token = tokens.issued > issued ? tokens.last : undefined;
    const timeoutMs = negotiateTimeout(requestedMs, SESSION_TICK_TIME_MS);
    const record = this.called(client, node, { type: 'createSession', timeoutMs, tokenHash: token ? hashToken(token).toString('hex') : '' }, call);
    opening.then(
      (opened) => {
        if ('code' in opened) {
          this.notOrdered(record, opened, refusedExpected);
          return this.settle(client);
        }
        if (refusedExpected) this.violations.push(`n${node.id} opened session ${opened.id} (#${record.id}) while not the leader`);
        if (opened.token !== token || opened.timeoutMs !== timeoutMs) this.violations.push(`open #${record.id} got ${JSON.stringify(opened)}, not token ${token} and ${timeoutMs} ms`);
        // A session's id is the zxid of its createSession.
        Object.assign(record, { status: 'done', ret: this.cluster.time, zxid: opened.id, result: { ok: true, sessionId: opened.id } });
        this.sessions.owner.set(opened.id, client.id);
        if (!this.sessions.ends.has(opened.id)) client.sessions.push(opened.id);
        this.settle(client);
      },
      (error: unknown) => {
        this.violations.push(`open #${record.id} threw ${String(error)}`);
        this.settle(client);
      },
    );
  }

  /** Closes a session with the SessionManager; the client is done with it whatever the answer (a lost close expires). */
  private closeSession(client: Client, node: SimNode, session: number): void {
    const refusedExpected = node.host!.status().role !== 'leader';
    client.sessions.splice(client.sessions.indexOf(session), 1);
    const record = this.called(client, node, { type: 'closeSession', sessionId: session, reason: 'closed' }, ++this.cluster.time);
    node.sessions!.close(session).then(
      (error) => {
        if (error && NOT_ORDERED.has(error.code)) {
          this.notOrdered(record, error, refusedExpected);
          return this.settle(client);
        }
        // Applied: its log entry is the one client close of this session.
        const applied = this.sessions.closes.get(session);
        if (refusedExpected) this.violations.push(`n${node.id} closed session ${session} (#${record.id}) while not the leader`);
        if (!applied || applied.result.ok !== (error === undefined) || (!applied.result.ok && applied.result.error.code !== error?.code)) {
          this.violations.push(`close #${record.id} answered ${error?.code ?? 'ok'}, but applied as ${JSON.stringify(applied)}`);
        }
        Object.assign(record, { status: 'done', ret: this.cluster.time, zxid: applied?.zxid ?? 0, result: applied?.result });
        this.settle(client);
      },
      (error: unknown) => {
        this.violations.push(`close #${record.id} threw ${String(error)}`);
        this.settle(client);
      },
    );
  }

  /** What a client learns from a reply: versions for its next compare-and-set. */
  private learn(client: Client, record: OpRecord): void {
    const { result } = record;
    if (result && 'results' in result) {
      for (const r of result.results) {
        if ('stat' in r) client.versions.set(r.path, r.stat.version);
        if (r.type === 'create') this.requests.created(r.path);
      }
    }
    this.settle(client);
  }

  private settle(client: Client): void {
    client.busy = false;
    this.unsettled--;
  }

  onApplied(node: SimNode, output: ApplyOutput, zxid: number, envelope: TxnEnvelope): void {
    const heldByLive = (id: number) => this.clients.some((c) => c.alive && c.sessions.includes(id));
    const end = this.sessions.onApplied(output, zxid, envelope, this.cluster.tick, this.cluster.time, heldByLive);
    // The owner learns of the end (its stream's last event) and stops keeping the session alive.
    if (end) {
      const owner = this.clients[(this.sessions.owner.get(end.session) ?? 0) - 1];
      if (owner?.sessions.includes(end.session)) owner.sessions.splice(owner.sessions.indexOf(end.session), 1);
    }
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

/** The envelope the leader would log, prepared as the HTTP layer does (time from the tick). */
function envelopeOf(txn: Txn, tick: number): TxnEnvelope {
  const timeMs = tick * MS_PER_TICK;
  if (txn.type !== 'write') return { timeMs, txn };
  const prepared = prepareWrite(txn.ops, txn.multi, { timeMs, sessionId: txn.sessionId, maxDataBytes: MAX_DATA_BYTES });
  if (!prepared.ok) throw new Error(`workload made an invalid request: ${prepared.error.message}`);
  return prepared.envelope;
}

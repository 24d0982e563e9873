/**
 * Clients of the node simulation. Each client waits for one request at a time (what it asks:
 * node-requests.ts and node-watch-requests.ts; it gives up waiting after two election timeouts,
 * and a late answer still counts) and sends it to a member of its choice — the current leader,
 * or any running member (`forwardRate`), whose real Pipeline forwards it to the leader over the
 * simulated network (node-forwarding.ts) — with a deadline (PROPOSAL_TIMEOUT_MS) a while after the client gives up waiting: a
 * CONNECTIONLOSS is an unknown outcome unless it says the request was not applied. Every request is recorded
 * (node-records.ts) with its call time, its return time (Infinity while the outcome is unknown)
 * and what it returned.
 *
 * Sessions go through the host's real SessionManager: a client opens them (its own, used for its
 * ephemeral creates and its watches), closes them, and while it lives sends a keepalive for each
 * every tick to the node it takes for the leader. It keeps that belief until the node stops
 * leading (or crashes), then looks for the new one: at once when healed, on half the ticks
 * before: a keepalive at a node that does not lead is lost (a new leader grants every session a
 * fresh timeout anyway). In the fault phase a client may pause (sending nothing for 10 to 60
 * ticks, so its sessions may rightly expire; it resumes when healed) or die: it sends nothing
 * more, and the leader must expire its sessions. A session whose open or close got no answer is
 * given up. Watches are set and removed through SessionManager.watch: a watch transaction
 * (a watched read answers as of its zxid, which the workload learns from the apply that
 * produced the answer).
 *
 * Request ids (exactly-once writes): some writes carry a request tag in the client's namespace
 * (`session:<id>` for a write acting for a session, else `c<client>`); the client retries the
 * same tagged request (the very same txn) at whatever node it now takes for the leader, mostly
 * after an unknown or refused outcome, now and then after success, and now and then reuses an
 * id for another operation. node-checkers.ts checks each id is applied once and every answer
 * for it is the first one (or BADARGUMENTS for the other operation).
 *
 * Reads: reader clients (node-readers.ts) read through ReadIndex at any node; and the workload
 * takes reads from a leader's tree right after its loop applied something, once it has applied
 * an entry of its own term (so everything earlier leaders acknowledged is in its tree):
 * zero-duration.
 */
import { epochOf } from '../../src/core/consensus/zxid.ts';
import type { ZkError } from '../../src/core/errors.ts';
import { negotiateTimeout } from '../../src/core/session/session-tracker.ts';
import { prepareWrite } from '../../src/core/tree/prepare.ts';
import type { ApplyOutput } from '../../src/core/tree/results.ts';
import type { RequestTag, Txn, TxnEnvelope, WatchRequest } from '../../src/core/tree/txn.ts';
import { hashToken } from '../../src/node/session-manager.ts';
import type { Prng } from '../support/prng.ts';
import { MS_PER_TICK, PROPOSAL_TIMEOUT_MS, SESSION_TICK_TIME_MS, type NodeCluster, type SimNode } from './node-cluster.ts';
import { outputOf, Readers, type ReaderOptions } from './node-readers.ts';
import { NOT_ORDERED, Recorder, type Caller, type OpRecord, type ReadRecord } from './node-records.ts';
import { MODELED_PATH, RequestMaker, SHARED_PATHS } from './node-requests.ts';
import { SessionLedger } from './node-sessions.ts';
import { WatchMaker } from './node-watch-requests.ts';

const MAX_DATA_BYTES = 1024;

export interface Client extends Caller {
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
  /** Its last tagged request's latest attempt: what it may retry. */
  lastTagged: OpRecord | undefined;
  /** Tags it used, for reusing one with another operation. */
  readonly tags: RequestTag[];
}

/** Chances: a write gets a request tag; its retry after an unknown or refused outcome, after success; an id reused for another op. */
const TAG_RATE = 0.3;
const RETRY_UNSURE_RATE = 0.8;
const RETRY_DONE_RATE = 0.15;
const REUSE_RATE = 0.05;

export interface WorkloadOptions {
  readonly clients: number;
  /** Chance per tick that an idle client sends a request. */
  readonly rate: number;
  /** Chance that a request goes to a random running node rather than a leader. */
  readonly strayRate: number;
  /** Chance that a request goes to any running member (a follower forwards it), when there is a leader. */
  readonly forwardRate: number;
  /** Chance per tick that a live client dies, or pauses (in the fault phase). */
  readonly deathRate: number;
  readonly pauseRate: number;
  /** Chance that a request of a client with a session is a watch request. */
  readonly watchRate: number;
  readonly readers: ReaderOptions;
}

/** The streams of a workload: requests and targets; deaths, pauses and keepalive targets; watch requests; linearizable reads. */
export interface WorkloadStreams {
  readonly requests: Prng;
  readonly life: Prng;
  readonly watches: Prng;
  readonly reads: Prng;
  /** Request tags and retries. */
  readonly retries: Prng;
}

export class Workload {
  readonly recorder: Recorder;
  readonly clients: Client[];
  readonly sessions = new SessionLedger();
  readonly readers: Readers;
  private healed = false;
  private readonly touched = new Map<number, Set<string>>();
  private readonly requests: RequestMaker;
  private readonly watchRequests: WatchMaker;
  private readonly rng: Prng;
  private readonly life: Prng;
  private readonly retries: Prng;
  private tagCounter = 0;
  /** The zxid of each watch transaction's result, by the result object its waiter gets. */
  private readonly watchZxids = new WeakMap<object, number>();

  constructor(private readonly cluster: NodeCluster, streams: WorkloadStreams, private readonly options: WorkloadOptions) {
    this.clients = Array.from({ length: options.clients }, (_, i) => ({ id: i + 1, waiting: undefined, alive: true, pausedUntil: 0, leader: 0, sessions: [], versions: new Map(), lastTagged: undefined, tags: [] }));
    this.retries = streams.retries;
    this.rng = streams.requests;
    this.life = streams.life;
    this.requests = new RequestMaker(streams.requests);
    this.watchRequests = new WatchMaker(streams.watches, options.watchRate);
    this.recorder = new Recorder(cluster);
    this.readers = new Readers(cluster, streams.reads, this.recorder, options.readers);
  }

  get records(): readonly OpRecord[] {
    return this.recorder.records;
  }

  get reads(): readonly ReadRecord[] {
    return this.recorder.reads;
  }

  get violations(): readonly string[] {
    return this.recorder.violations;
  }

  /** Each idle live client may send one request; each idle reader may read. */
  submitSome(): void {
    for (const client of this.clients) {
      if (!this.active(client) || this.recorder.busy(client) || !this.rng.chance(this.options.rate)) continue;
      const node = this.target();
      if (!node) continue;
      if (this.watchRequests.wants(client.sessions)) {
        const { session, request } = this.watchRequests.next(client.sessions);
        this.watch(client, node, session, request);
        continue;
      }
      const retry = this.retryOf(client);
      if (retry) {
        this.submit(client, node, retry);
        continue;
      }
      const request = this.requests.next(client);
      if (request.type === 'txn') this.submit(client, node, this.tagged(client, request.txn));
      else if (request.type === 'open') this.openSession(client, node, request.requestedMs);
      else this.closeSession(client, node, request.session);
    }
    this.readers.readSome();
  }

  /** The client's last tagged request, again, if it retries it now (the same txn object: node-history.ts merges its attempts). */
  private retryOf(client: Client): Txn | undefined {
    const last = client.lastTagged;
    if (!last) return undefined;
    const rate = last.status === 'done' ? RETRY_DONE_RATE : RETRY_UNSURE_RATE;
    if (this.retries.chance(rate)) return last.txn;
    client.lastTagged = undefined;
    return undefined;
  }

  /** Some writes get a request tag: a new id, or now and then one of the client's used ids (another operation). */
  private tagged(client: Client, txn: Txn): Txn {
    if (txn.type !== 'write' || !this.retries.chance(TAG_RATE)) return txn;
    // Without a session, a request id lives in one of its caller's identities: each client has its own.
    const identity = `ip:c${client.id}`;
    const namespace = txn.sessionId !== 0 ? `session:${txn.sessionId}` : identity;
    const used = client.tags.filter((tag) => tag.client === namespace);
    const request = used.length > 0 && this.retries.chance(REUSE_RATE) ? this.retries.pick(used) : { client: namespace, id: `r${this.tagCounter++}` };
    client.tags.push(request);
    return { ...txn, request, auth: [identity] };
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

  /** Lets the callbacks of settled requests run (see Recorder.flush). */
  flush(): Promise<void> {
    return this.recorder.flush();
  }

  /**
   * A leader, now and then any running node. When two nodes take themselves for the leader (one
   * cut off, stale), a client mostly finds the newer one, as a real one does after its request at
   * the stale one timed out: a request there waits until that leader steps down.
   */
  private target(): SimNode | undefined {
    const leaders = this.cluster.leaders();
    if (leaders.length > 0 && this.rng.chance(this.options.forwardRate)) return this.rng.pick(this.cluster.up());
    if (leaders.length > 0 && !this.rng.chance(this.options.strayRate)) {
      const newest = leaders.reduce((a, b) => (a.host!.status().term >= b.host!.status().term ? a : b));
      return leaders.length > 1 && this.rng.chance(0.9) ? newest : this.rng.pick(leaders);
    }
    // With no leader known, a client mostly waits; now and then it tries some node.
    const up = this.cluster.up();
    return up.length > 0 && (leaders.length > 0 || this.rng.chance(0.2)) ? this.rng.pick(up) : undefined;
  }

  /** Sends a write through the member's Pipeline (forwarded to the leader from a follower). */
  private submit(client: Client, node: SimNode, txn: Txn): void {
    checkValid(txn);
    if (txn.type !== 'write') throw new Error(`workload made a ${txn.type} txn for the pipeline`);
    const record = this.recorder.called(client, node, txn);
    if (txn.request) client.lastTagged = record;
    const deadlineMs = this.cluster.tick * MS_PER_TICK + PROPOSAL_TIMEOUT_MS;
    node.pipeline!.propose({ proposal: { type: 'txn', txn }, identities: txn.auth, deadlineMs }).then(
      (outcome) => {
        if (!outcome.ok) {
          this.recorder.notOrdered(record, outcome.error, neverSent(outcome.error));
          return this.recorder.settle(client, record);
        }
        this.recorder.answered(record, outcome.zxid, outcome.result);
        this.learn(client, record);
      },
      (error: unknown) => {
        this.recorder.violations.push(`request #${record.id} failed with ${String(error)}`);
        this.recorder.settle(client, record);
      },
    );
  }

  /**
   * Opens a session with the host's SessionManager. It draws the token synchronously inside
   * open() (unless it refuses at once: too many sessions), so the request's txn is known here.
   */
  private openSession(client: Client, node: SimNode, requestedMs: number): void {
    const tokens = this.cluster.tokens;
    const issued = tokens.issued;
    const call = ++this.cluster.time;
    const opening = node.sessions!.open(requestedMs);
    const token = tokens.issued > issued ? tokens.last : undefined;
    const timeoutMs = negotiateTimeout(requestedMs, SESSION_TICK_TIME_MS);
    const record = this.recorder.called(client, node, { type: 'createSession', timeoutMs, tokenHash: token ? hashToken(token).toString('hex') : '', auth: [] }, call);
    opening.then(
      (opened) => {
        if ('code' in opened) {
          this.recorder.notOrdered(record, opened, neverSent(opened));
          return this.recorder.settle(client, record);
        }
        if (opened.token !== token || opened.timeoutMs !== timeoutMs) this.recorder.violations.push(`open #${record.id} got ${JSON.stringify(opened)}, not token ${token} and ${timeoutMs} ms`);
        // A session's id is the zxid of its createSession.
        this.recorder.answered(record, opened.id, { ok: true, sessionId: opened.id });
        this.sessions.owner.set(opened.id, client.id);
        if (!this.sessions.ends.has(opened.id)) client.sessions.push(opened.id);
        this.recorder.settle(client, record);
      },
      (error: unknown) => {
        this.recorder.violations.push(`open #${record.id} threw ${String(error)}`);
        this.recorder.settle(client, record);
      },
    );
  }

  /** Closes a session with the SessionManager; the client is done with it whatever the answer (a lost close expires). */
  private closeSession(client: Client, node: SimNode, session: number): void {
    client.sessions.splice(client.sessions.indexOf(session), 1);
    const record = this.recorder.called(client, node, { type: 'closeSession', sessionId: session, reason: 'closed' });
    node.sessions!.close(session).then(
      (error) => {
        if (error && NOT_ORDERED.has(error.code)) {
          this.recorder.notOrdered(record, error, neverSent(error));
          return this.recorder.settle(client, record);
        }
        // Applied: its log entry is the one client close of this session.
        const applied = this.sessions.closes.get(session);
        if (!applied || applied.result.ok !== (error === undefined) || (!applied.result.ok && applied.result.error.code !== error?.code)) {
          this.recorder.violations.push(`close #${record.id} answered ${error?.code ?? 'ok'}, but applied as ${JSON.stringify(applied)}`);
        }
        this.recorder.answered(record, applied?.zxid ?? 0, applied?.result);
        this.recorder.settle(client, record);
      },
      (error: unknown) => {
        this.recorder.violations.push(`close #${record.id} threw ${String(error)}`);
        this.recorder.settle(client, record);
      },
    );
  }

  /**
   * Sets or removes a watch of one of the client's sessions through the SessionManager. At the
   * leader its answer is the very result object its apply produced; forwarded, a decoded copy
   * with the zxid it was applied at, which the final checks compare with the log.
   */
  private watch(client: Client, node: SimNode, session: number, request: WatchRequest): void {
    const record = this.recorder.called(client, node, { type: 'watch', sessionId: session, request, auth: [] });
    node.sessions!.watchCommitted(session, request).then(
      (committed) => {
        if ('code' in committed) {
          this.recorder.notOrdered(record, committed, neverSent(committed));
          return this.recorder.settle(client, record);
        }
        const { zxid, result: answer } = committed;
        const applied = this.watchZxids.get(answer);
        if (applied !== undefined && applied !== zxid) this.recorder.violations.push(`watch request #${record.id} answered zxid ${zxid}, but its result was applied at ${applied}`);
        this.recorder.answered(record, zxid, answer);
        if (answer.ok && answer.stat && request.op === 'getData') client.versions.set(request.path, answer.stat.version);
        this.recorder.settle(client, record);
      },
      (error: unknown) => {
        this.recorder.violations.push(`watch request #${record.id} threw ${String(error)}`);
        this.recorder.settle(client, record);
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
    this.recorder.settle(client, record);
  }

  onApplied(node: SimNode, output: ApplyOutput, zxid: number, envelope: TxnEnvelope): void {
    const heldByLive = (id: number) => this.clients.some((c) => c.alive && c.sessions.includes(id));
    const end = this.sessions.onApplied(node.id, output, zxid, envelope, this.cluster.tick, this.cluster.time, heldByLive);
    // The owner learns of the end (its stream's last event) and stops keeping the session alive.
    if (end) {
      const owner = this.clients[(this.sessions.owner.get(end.session) ?? 0) - 1];
      if (owner?.sessions.includes(end.session)) owner.sessions.splice(owner.sessions.indexOf(end.session), 1);
    }
    if (envelope.txn.type === 'watch' && output.result) this.watchZxids.set(output.result, zxid);
    let set = this.touched.get(node.id);
    if (!set) this.touched.set(node.id, (set = new Set()));
    for (const event of output.events) if (MODELED_PATH.test(event.path)) set.add(event.path);
  }

  /** Before the host is rebuilt from its store and checkpoint. */
  onRestart(node: SimNode): void {
    this.touched.get(node.id)?.clear();
    this.sessions.tracked(node.id, node.checkpoint?.sessions ?? [], this.cluster.tick, true);
  }

  onCheckpointInstalled(node: SimNode): void {
    this.touched.get(node.id)?.clear();
    this.sessions.tracked(node.id, node.host!.tree.sessions.all(), this.cluster.tick, false);
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
        const time = this.cluster.time;
        this.recorder.reads.push({ kind: 'leader', client: `leader n${node.id}`, node: node.id, call: time, ret: time, path, output: outputOf(host.tree.get(path)) });
      }
    }
    set.clear();
  }
}

/** A member with no leader known refuses a request at once: it was never proposed (certainly not applied). */
function neverSent(error: ZkError): boolean {
  return error.code === 'CONNECTIONLOSS' && error.message.startsWith('no leader right now');
}

/** The workload's requests are valid ones, as the HTTP layer checks them (the leader checks them again). */
function checkValid(txn: Txn): void {
  if (txn.type !== 'write') return;
  const prepared = prepareWrite(txn.ops, txn.multi, { timeMs: 0, sessionId: txn.sessionId, maxDataBytes: MAX_DATA_BYTES, auth: txn.auth });
  if (!prepared.ok) throw new Error(`workload made an invalid request: ${prepared.error.message}`);
}

/**
 * The Backend over this process's own Corral node: reads from its tree, writes and session
 * changes as proposals through its pipeline (ordered on the leader, forwarded there from a
 * follower), events from its outboxes and change feed.
 */
import { epochOf } from '../../core/consensus/zxid.ts';
import { zkError, type ZkError } from '../../core/errors.ts';
import { visibleAcl } from '../../core/acl/check.ts';
import { prepareWrite } from '../../core/tree/prepare.ts';
import { readDenied } from '../../core/tree/watch-ops.ts';
import { isWriteResult } from '../../core/tree/results.ts';
import type { RequestTag, WatchRequest } from '../../core/tree/txn.ts';
import type { CorralNode } from '../../node/corral-node.ts';
import { NotCommittedError } from '../../node/node-host.ts';
import { PROPOSAL_DEADLINE_MS, type ProposalRequest } from '../../node/pipeline/proposal.ts';
import type { CallerContext } from '../../node/session-manager.ts';
import type {
  Backend, Caller, Changes, ClusterView, OpenedSession, ReadRequest, ReadView, Sessions, WriteOutcome, WriteRequest,
} from '../backend.ts';
import { clusterView } from './cluster-view.ts';
import { backupImageOf } from '../../node/backup.ts';
import type { CheckpointImage } from '../../core/tree/checkpoint-image.ts';

/**
 * Whose namespace a request id is in: the session's when the request acts for one, else the
 * caller's first identity, else its address (anonymous clients sharing an address share one).
 */
export function requestTagOf(requestId: string | undefined, sessionId: number, caller: Caller): RequestTag | undefined {
  if (requestId === undefined) return undefined;
  const client = sessionId !== 0 ? `session:${sessionId}` : caller.identities[0] ?? `ip:${caller.address}`;
  return { client, id: requestId };
}

export class EmbeddedBackend implements Backend {
  readonly sessions: Sessions;
  readonly changes: Changes;

  constructor(private readonly node: CorralNode, private readonly nowMs: () => number) {
    this.sessions = this.sessionsOf(node);
    const feed = node.changes;
    this.changes = {
      get appliedZxid() {
        return feed.appliedZxid;
      },
      get subscribers() {
        return feed.subscribers;
      },
      subscribe: (path, recursive, subscriber) => feed.subscribe(path, recursive, subscriber),
      floor: () => feed.history.floor(),
      replay: (after, max) => feed.replay(after, max),
      at: (zxid) => feed.history.at(zxid),
    };
  }

  get appliedZxid(): number {
    return this.node.host.appliedZxid;
  }

  read(request: ReadRequest): ReadView | Promise<ReadView | ZkError> | ZkError {
    if (request.watchSession !== 0) return this.watchedRead(request);
    if (request.consistency === 'linearizable' && this.node.peers.clustered) {
      return this.sync().then((error) => error ?? this.readLocal(request));
    }
    return this.readLocal(request);
  }

  private readLocal({ op, path, caller }: ReadRequest): ReadView | ZkError {
    const { tree } = this.node.host;
    const node = tree.get(path);
    if (!node) return {};
    const denied = readDenied(node, op, caller.auth);
    if (denied) return denied;
    return { stat: tree.stat(path), data: node.data, children: op === 'getChildren' ? tree.childNames(path) : undefined };
  }

  /** A watched read is a transaction that sets the watch as it reads: no change slips between. */
  private async watchedRead({ op, path, watchSession, caller }: ReadRequest): Promise<ReadView | ZkError> {
    const result = await this.sessions.watch(watchSession, { op, path }, caller);
    if ('code' in result) return result;
    if (result.ok) return result;
    if (result.error.code === 'NONODE') return {};
    return result.error;
  }

  readNow(path: string, caller: Caller) {
    const { tree } = this.node.host;
    const node = tree.get(path);
    if (!node) return undefined;
    const denied = readDenied(node, 'getData', caller.auth);
    if (denied) return denied;
    return { stat: tree.stat(path)!, data: node.data, children: () => tree.childNames(path) };
  }

  allChildrenNumber(path: string, caller: Caller): number | ZkError | undefined {
    const { tree } = this.node.host;
    const node = tree.get(path);
    if (!node) return undefined;
    const denied = readDenied(node, 'getChildren', caller.auth);
    if (denied) return denied;
    // The root's descendants are every other node: no walk (ZooKeeper's nodes.size() - 2 likewise).
    return path === '/' ? tree.size - 1 : tree.subtreeTotals(path).count - 1;
  }

  getAcl(path: string, caller: Caller) {
    const { tree } = this.node.host;
    const node = tree.get(path);
    if (!node) return zkError('NONODE', `${path} does not exist`, path);
    const acl = visibleAcl(node.acl, caller.auth);
    return 'code' in acl ? { ...acl, path } : { acl, stat: tree.stat(path)! };
  }

  /** Not async (every write takes it): one promise layer, not three. */
  write(request: WriteRequest): Promise<WriteOutcome> {
    const { ops, multi, sessionId, caller } = request;
    const tag = requestTagOf(request.requestId, sessionId, caller);
    // Checked here first, so a bad request is refused without a trip to the leader (which checks again).
    const prepared = prepareWrite(ops, multi, { timeMs: 0, sessionId, maxDataBytes: this.node.config.maxDataBytes, request: tag, auth: caller.auth });
    if (!prepared.ok) return Promise.resolve({ ok: true, zxid: this.appliedZxid, result: prepared });
    const txn = prepared.envelope.txn;
    if (txn.type !== 'write') throw new Error('prepareWrite made a txn that is not a write');
    return this.node.pipeline.propose(this.proposal({ type: 'txn', txn }, caller)).then((outcome): WriteOutcome => {
      if (!outcome.ok) {
        // The leader's prepare refused an op (its limits may differ from this member's): a definite answer.
        if (outcome.failedOp !== undefined) return { ok: true, zxid: this.appliedZxid, result: { ok: false, failedOp: outcome.failedOp, error: outcome.error } };
        return { ok: false, error: outcome.error };
      }
      const { zxid, result } = outcome;
      if (result === undefined || !isWriteResult(result)) return { ok: false, error: zkError('SYSTEMERROR', 'a write answered with another result') };
      return { ok: true, zxid, result };
    });
  }

  private deadline(): number {
    return this.nowMs() + PROPOSAL_DEADLINE_MS;
  }

  private proposal(proposal: ProposalRequest['proposal'], caller: Caller): ProposalRequest {
    return { proposal, identities: caller.auth, deadlineMs: this.deadline() };
  }

  async waitFor(zxid: number): Promise<ZkError | undefined> {
    try {
      await this.node.host.waitForApplied(zxid, this.node.config.minZxidWaitMs);
      return undefined;
    } catch {
      return zkError('OPERATIONTIMEOUT', `zxid ${zxid} is not applied on this node yet`);
    }
  }

  async sync(): Promise<ZkError | undefined> {
    // A cluster of one applied every write it acknowledged: its own tree is the commit point.
    if (!this.node.peers.clustered) return undefined;
    try {
      await this.node.host.readBarrier(this.node.config.minZxidWaitMs);
      return undefined;
    } catch (error) {
      if (error instanceof NotCommittedError) return error.error;
      return zkError('CONNECTIONLOSS', 'could not confirm the commit point; retry');
    }
  }

  cluster(): ClusterView {
    return clusterView(this.node);
  }

  backupImage(): CheckpointImage {
    return backupImageOf(this.node.host.tree);
  }

  get membership(): CorralNode['membership'] {
    return this.node.membership;
  }

  transferLeader(to: number | undefined): Promise<{ readonly leader: number; readonly from: number } | ZkError> {
    // The leader gives a transfer one election timeout; the new leader's first heartbeat follows.
    return this.node.transferLeadership(to, 2 * this.node.electionTimeoutMs);
  }

  readiness(): ZkError | undefined {
    const { host } = this.node;
    const status = host.status();
    if (status.leader === 0) return zkError('CONNECTIONLOSS', 'no leader');
    // A member that names the leader but cannot reach it answers writes with 503s (ZooKeeper's follower stops serving).
    if (status.leader !== status.id && !this.node.peers.connectedTo(status.leader)) return zkError('CONNECTIONLOSS', 'no link to the leader');
    if (status.appliedIndex < status.commitIndex) return zkError('CONNECTIONLOSS', 'catching up with the log');
    // A leader is ready once it applied an entry of its own term: everything before it is in its tree.
    if (status.role === 'leader' && epochOf(host.appliedZxid) !== status.term) {
      return zkError('CONNECTIONLOSS', 'the new leader is committing its first entry');
    }
    return undefined;
  }

  private sessionsOf(node: CorralNode): Sessions {
    const manager = node.sessions;
    const context = (caller: Caller): CallerContext => ({ identities: caller.auth, deadlineMs: this.deadline() });
    return {
      open: (timeoutMs, caller): Promise<OpenedSession | ZkError> => manager.open(timeoutMs, context(caller)),
      close: (id, caller) => manager.close(id, context(caller)),
      keepalive: async (id, caller) => {
        const answered = await manager.keepaliveRequest(id, context(caller));
        return 'code' in answered ? answered : undefined;
      },
      authenticate: (id, token, readEnd, caller) => manager.authenticate(id, token, readEnd, caller?.identities),
      touch: (id) => manager.keepalive(id),
      timeoutOf: (id) => manager.timeoutOf(id),
      ephemerals: (id) => node.host.tree.sessions.ephemeralsOf(id),
      list: () => node.host.tree.sessions.all()
        .map(({ id, timeoutMs, auth }) => ({ id, timeoutMs, identities: auth }))
        .sort((a, b) => a.id - b.id),
      watch: (id, request: WatchRequest, caller) => manager.watch(id, request, context(caller)),
      events: (id) => manager.outbox(id),
    };
  }
}

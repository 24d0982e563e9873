/**
 * The Backend over a ZooKeeper ensemble: this process keeps no znode state; every read, write,
 * session and watch is the ensemble's own, through the TypeScript client (src/zookeeper-client/).
 * Requests without a session go over one shared connection (ZooKeeper answers a connection's
 * requests in order, so they are pipelined); a request for a session goes over that session's
 * connection (gateway-sessions.ts), so its ephemerals and watches are the session's.
 *
 * Identities: ZooKeeper checks ACLs itself, per connection (addauth). A caller that proved a
 * digest identity (HTTP Basic) reaches the ensemble as that identity: its session's connection
 * authenticates with its credential, and its session-less requests go over a pooled connection
 * of its own (caller-connections.ts). Any other caller (anonymous, jwt, x509) is one ZooKeeper
 * cannot check: it goes as the gateway's own identity (--zookeeper-auth, or none).
 *
 * Zk-Zxid: the highest zxid any reply or dated event carried; a write answers with its own zxid.
 */
import { zkError, type ZkError } from '../../core/errors.ts';
import { prepareWrite } from '../../core/tree/prepare.ts';
import type { WriteResult } from '../../core/tree/results.ts';
import type { WriteOp } from '../../core/tree/txn.ts';
import type { Logger } from '../../observability/logger.ts';
import { ZooKeeperClient } from '../../zookeeper-client/client.ts';
import { transportOf } from '../../zookeeper-client/session.ts';
import type {
  Backend, Caller, ClusterView, NodeNow, ReadRequest, ReadView, WriteOutcome, WriteRequest,
} from '../backend.ts';
import type { Acl } from '../../core/acl/acl.ts';
import type { Stat } from '../../core/tree/znode.ts';
import { ReadBatcher } from './read-batch.ts';
import type { MultiResult } from '../../zookeeper-client/records.ts';
import { createdStat, failed, multiResultOf, sortedNames, statOf, zkOpOf, zxidNumber } from './convert.ts';
import { SharedConnection } from './shared-connection.ts';
import { GatewayChanges } from './gateway-changes.ts';
import { GatewaySessions } from './gateway-sessions.ts';
import { tokenKeyOf } from './session-token.ts';
import { CallerConnections, zkAuthOf } from './caller-connections.ts';
import { isGatewayOwn, isRefusedWrite, refusedOwn } from './gateway-own-paths.ts';
import { makeRecordParents, RECORD_ROOT } from './record-store.ts';
import type { EnsembleAddress } from './zookeeper-url.ts';
import type { ZkTlsOptions } from '../../zookeeper-client/connection.ts';

export interface ZooKeeperBackendOptions {
  readonly ensemble: EnsembleAddress;
  /** The secret the gateways share; seals session tokens. */
  readonly gatewayKey: string;
  readonly maxDataBytes: number;
  readonly maxSessions: number;
  readonly outboxEventsMax: number;
  /** Watches one session may hold through the gateways (THROTTLEDOP past it); unbounded when absent. */
  readonly maxWatchesPerSession?: number;
  readonly historyEventsMax: number;
  readonly minZxidWaitMs: number;
  readonly logger: Logger;
  readonly nowMs: () => number;
  /** The shared connection's session timeout. */
  readonly sessionTimeoutMs?: number;
  /** What every connection of this gateway authenticates with (addauth), e.g. digest `user:password`. */
  readonly auth?: readonly { readonly scheme: string; readonly credential: Uint8Array }[];
  /** TLS to the ensemble (its secureClientPorts); plain TCP when absent. */
  readonly tls?: ZkTlsOptions;
  /** The ensemble's jute.maxbuffer (ZooKeeper's default when absent): larger requests are refused here, not sent. */
  readonly maxRequestBytes?: number;
  /** How long a session-less stream's ZooKeeper watch is kept after its last subscriber leaves; 0 (at once) when absent. */
  readonly watchLingerMs?: number;
  /** Distinct caller credentials with a session-less connection at once (see caller-connections.ts); 64 when absent. */
  readonly callerConnectionsMax?: number;
  /** A caller's session-less connection unused this long is closed; 60 s when absent. */
  readonly callerConnectionIdleMs?: number;
}


/** Session-less watches kept lingering at once (gateway-changes.ts): far above a console's or a fleet of browsers' reconnects. */
const LINGERING_WATCHES_MAX = 1024;

export class ZooKeeperBackend implements Backend {
  readonly sessions: GatewaySessions;
  readonly changes: GatewayChanges;
  /** Corral's session id is the ensemble's session id (53 of its bits, see convert.ts), not a zxid. */
  readonly sessionIdsAreZxids = false;
  private zxid = 0;
  private readonly reads: ReadBatcher;
  private readonly callers: CallerConnections;

  private constructor(private readonly connection: SharedConnection, private readonly options: ZooKeeperBackendOptions) {
    const sawZxid = (z: number) => this.saw(z);
    this.sessions = new GatewaySessions({
      servers: options.ensemble.servers, chroot: options.ensemble.chroot, key: tokenKeyOf(options.gatewayKey),
      maxSessions: options.maxSessions, outboxEventsMax: options.outboxEventsMax, maxWatchesPerSession: options.maxWatchesPerSession ?? Number.MAX_SAFE_INTEGER, nowMs: options.nowMs, sawZxid, auth: options.auth ?? [],
      ...transportOf(options),
      recordFailed: (error, sessionId) => options.logger.warn({ event: 'gateway-watch-record-failed', sessionId, code: error.code }, error.message),
      zxidNow: async () => {
        const probed = await this.shared.probe();
        if (!('code' in probed)) this.saw(zxidNumber(probed.zxid));
        return this.zxid;
      },
    });
    this.reads = new ReadBatcher(() => this.shared, sawZxid);
    this.callers = new CallerConnections({
      servers: options.ensemble.servers, chroot: options.ensemble.chroot, sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      max: options.callerConnectionsMax ?? 64, idleMs: options.callerConnectionIdleMs ?? 60_000, nowMs: options.nowMs, sawZxid,
      ...transportOf(options),
    });
    this.changes = new GatewayChanges({
      client: () => this.shared, appliedZxid: () => this.zxid, sawZxid, historyEventsMax: options.historyEventsMax, lingerMs: options.watchLingerMs ?? 0, lingeringMax: LINGERING_WATCHES_MAX,
      onError: (error, path) => options.logger.warn({ event: 'gateway-watch-failed', path, code: error.code }, error.message),
    });
  }

  /** The gateway's own session (replaced if the ensemble expires it). */
  private get shared(): ZooKeeperClient {
    return this.connection.client;
  }

  /** Connects the shared session; answers why not (no server reachable) rather than throwing. */
  static async start(options: ZooKeeperBackendOptions): Promise<ZooKeeperBackend | ZkError> {
    const holder: { backend?: ZooKeeperBackend } = {};
    const connection = await SharedConnection.open({
      servers: options.ensemble.servers, chroot: options.ensemble.chroot, sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      logger: options.logger, auth: options.auth ?? [], ...transportOf(options),
      deliver: (group) => holder.backend?.changes.deliver(group),
      reconnected: (zxid) => holder.backend?.changes.reconnected(zxid),
      renewed: (zxid) => holder.backend?.changes.renewed(zxid),
      newestZxid: () => holder.backend?.zxid ?? 0,
    });
    if ('code' in connection) return connection;
    const backend = new ZooKeeperBackend(connection, options);
    holder.backend = backend;
    // The ensemble's zxid now: the first Zk-Zxid answered is the ensemble's, not 0.
    const probed = await connection.client.probe();
    if (!('code' in probed)) backend.saw(zxidNumber(probed.zxid));
    return backend;
  }

  get appliedZxid(): number {
    return this.zxid;
  }

  private saw(zxid: number): void {
    if (zxid > this.zxid) this.zxid = zxid;
  }

  /** Runs a session-less request over the connection that carries the caller's identity. */
  private via<T>(caller: Caller, run: (client: ZooKeeperClient, reads: ReadBatcher) => Promise<T | ZkError>): Promise<T | ZkError> {
    const auth = zkAuthOf(caller);
    return auth === undefined ? run(this.shared, this.reads) : this.callers.use(auth, run);
  }

  /** Session-less connections held for callers' credentials now. */
  get callerConnections(): number {
    return this.callers.size;
  }

  read(request: ReadRequest): Promise<ReadView | ZkError> {
    if (isGatewayOwn(request.path)) return Promise.resolve(refusedOwn(request.path));
    if (request.watchSession !== 0) return this.watchedRead(request);
    return this.via(request.caller, (client) => this.readVia(client, request));
  }

  private async readVia(client: ZooKeeperClient, { op, path, consistency }: ReadRequest): Promise<ReadView | ZkError> {
    if (consistency === 'linearizable') {
      const synced = await client.sync(path);
      if ('code' in synced && synced.code !== 'NONODE') return synced;
    }
    const answer = op === 'getChildren' ? await client.getChildren(path) : await client.getData(path);
    if ('code' in answer) return answer.code === 'NONODE' ? {} : answer;
    this.saw(zxidNumber(answer.zxid));
    return { stat: statOf(answer.stat), data: 'data' in answer ? answer.data : undefined, children: 'children' in answer ? sortedNames(answer.children) : undefined };
  }

  private async watchedRead({ op, path, watchSession }: ReadRequest): Promise<ReadView | ZkError> {
    const result = await this.sessions.watch(watchSession, { op, path });
    if ('code' in result) return result;
    if (result.ok) return result;
    if (result.error.code === 'NONODE') return {};
    return result.error;
  }

  /** A read-only multi's op: the calls of one turn go as one multiRead (read-batch.ts). */
  readNow(path: string, caller: Caller, op: 'getData' | 'getChildren' = 'getData'): Promise<NodeNow | ZkError | undefined> {
    if (isGatewayOwn(path)) return Promise.resolve(refusedOwn(path));
    return this.via(caller, (_client, reads) => reads.read(path, op === 'getChildren'));
  }

  /** The ensemble counts (ZooKeeper's getAllChildrenNumber, READ on the node asked as the caller's identity). */
  async allChildrenNumber(path: string, caller: Caller = ZooKeeperBackend.anonymous): Promise<number | ZkError | undefined> {
    if (isGatewayOwn(path)) return refusedOwn(path);
    const answer = await this.via(caller, (client) => client.getAllChildrenNumber(path));
    if ('code' in answer) return answer.code === 'NONODE' ? undefined : answer;
    this.saw(zxidNumber(answer.zxid));
    return answer.count;
  }

  /** The ensemble's ACL as it shows it to the caller's identity. */
  async getAcl(path: string, caller: Caller = ZooKeeperBackend.anonymous): Promise<{ acl: Acl; stat: Stat } | ZkError> {
    if (isGatewayOwn(path)) return refusedOwn(path);
    const answer = await this.via(caller, (client) => client.getACL(path));
    if ('code' in answer) return answer;
    return { acl: answer.acl, stat: statOf(answer.stat) };
  }

  async write(request: WriteRequest): Promise<WriteOutcome> {
    const { ops, multi, sessionId, caller } = request;
    // The same stateless checks as the embedded store, so bad input answers the same error body.
    const prepared = prepareWrite(ops, multi, { timeMs: 0, sessionId, maxDataBytes: this.options.maxDataBytes, request: undefined, auth: caller.auth });
    if (!prepared.ok) return { ok: true, zxid: this.zxid, result: prepared };
    const own = ops.findIndex(isRefusedWrite);
    if (own !== -1) return { ok: true, zxid: this.zxid, result: { ok: false, failedOp: multi ? own : 0, error: refusedOwn(ops[own]!.path) } };
    const stranger = this.authOnBehalf(sessionId, caller, ops);
    if (stranger !== -1) return { ok: true, zxid: this.zxid, result: { ok: false, failedOp: multi ? stranger : 0, error: authUnmapped(ops[stranger]!.path) } };
    // A caller's create of RECORD_ROOT must not give it an ACL that keeps the records out: the gateways' own is made first.
    if (ops.some((op) => op.type === 'create' && op.path === RECORD_ROOT)) await makeRecordParents(this.shared);
    const send = (client: ZooKeeperClient) => (multi ? this.multi(client, ops, sessionId) : this.single(client, ops[0]!));
    let answer: { zxid: number; result: WriteResult } | ZkError;
    if (sessionId === 0) {
      answer = await this.via(caller, send);
    } else {
      // The session's connection authenticated as its opener, whose identities the request carries (authenticate()).
      const client = await this.sessions.clientOf(sessionId);
      answer = 'code' in client ? client : await send(client);
    }
    if ('code' in answer) return { ok: false, error: answer };
    this.saw(answer.zxid);
    if (answer.result.ok) this.track(sessionId, ops, answer.result);
    return { ok: true, zxid: answer.zxid, result: answer.result };
  }

  /**
   * The op whose ACL has an `auth` entry the ensemble would fill with the gateway's identity rather
   * than the caller's (-1 if none): ZooKeeper expands `auth` to its connection's identities, and a
   * caller without a digest credential (anonymous, JWT, certificate) goes over a connection of the
   * gateway's own — every such caller would then hold the node's rights.
   */
  private authOnBehalf(sessionId: number, caller: Caller, ops: readonly WriteOp[]): number {
    const own = sessionId === 0 ? zkAuthOf(caller) !== undefined : this.sessions.hasOwnAuth(sessionId);
    if (own) return -1;
    return ops.findIndex((op) => (op.type === 'create' || op.type === 'setACL') && op.acl.some((e) => e.scheme === 'auth'));
  }

  private track(sessionId: number, ops: readonly WriteOp[], result: WriteResult & { ok: true }): void {
    result.results.forEach((r, i) => {
      const op = ops[i]!;
      if (r.type === 'create' && op.type === 'create' && (op.mode === 'ephemeral' || op.mode === 'ephemeral_sequential')) this.sessions.createdEphemeral(sessionId, r.path);
      if (r.type === 'delete') this.sessions.deletedPath(r.path);
    });
  }

  private async multi(client: ZooKeeperClient, ops: readonly WriteOp[], sessionId = 0): Promise<{ zxid: number; result: WriteResult } | ZkError> {
    const zkOps = ops.map(zkOpOf);
    const setAcl = zkOps.findIndex((op) => op === undefined);
    if (setAcl !== -1) return { zxid: this.zxid, result: { ok: false, failedOp: setAcl, error: zkError('BADARGUMENTS', 'a multi has no setACL', ops[setAcl]!.path) } };
    const answer = await client.multi(zkOps.map((op) => op!));
    if ('code' in answer) return answer;
    const zxid = zxidNumber(answer.zxid);
    const ctimes = await this.ctimesOfStatless(client, answer.results);
    return {
      zxid,
      result: multiResultOf(ops, answer.results, (i) => {
        const op = ops[i]! as WriteOp & { type: 'create' };
        const owner = op.mode === 'ephemeral' || op.mode === 'ephemeral_sequential' ? sessionId : 0;
        return createdStat(zxid, op.data, owner, ctimes.get(i) ?? 0);
      }),
    };
  }

  /** The ctimes of the nodes a multi created but answered no Stat for (see createdStat), read at once. */
  private async ctimesOfStatless(client: ZooKeeperClient, results: readonly MultiResult[]): Promise<Map<number, number>> {
    const statless = results.flatMap((r, i) => (r.type === 'create' && r.stat === undefined ? [{ i, path: r.path }] : []));
    const ctimes = new Map<number, number>();
    if (statless.length === 0) return ctimes;
    const read = await client.multiRead(statless.map(({ path }) => ({ type: 'getData' as const, path })));
    if ('code' in read) return ctimes;
    read.results.forEach((r, k) => {
      if (r.type === 'getData') ctimes.set(statless[k]!.i, r.stat.ctime);
    });
    return ctimes;
  }

  /** One op: its own request (ZooKeeper's error codes are those of the op, not of a multi). */
  private async single(client: ZooKeeperClient, op: WriteOp): Promise<{ zxid: number; result: WriteResult } | ZkError> {
    const answered = await this.singleAnswer(client, op);
    if ('code' in answered) {
      if (answered.code === 'CONNECTIONLOSS' || answered.code === 'SESSIONEXPIRED' || answered.code === 'OPERATIONTIMEOUT') return answered;
      return { zxid: this.zxid, result: failed(answered) };
    }
    return answered;
  }

  private async singleAnswer(client: ZooKeeperClient, op: WriteOp): Promise<{ zxid: number; result: WriteResult } | ZkError> {
    switch (op.type) {
      case 'create': {
        const r = await client.create({ path: op.path, data: op.data, acl: op.acl, mode: op.mode, ...(op.ttlMs > 0 ? { ttlMs: op.ttlMs } : {}) });
        return 'code' in r ? r : { zxid: zxidNumber(r.zxid), result: { ok: true, results: [{ type: 'create', path: r.path, stat: statOf(r.stat) }] } };
      }
      case 'setData': {
        const r = await client.setData(op.path, op.data, op.version);
        return 'code' in r ? r : { zxid: zxidNumber(r.zxid), result: { ok: true, results: [{ type: 'setData', path: op.path, stat: statOf(r.stat) }] } };
      }
      case 'delete': {
        const r = await client.delete(op.path, op.version);
        return 'code' in r ? r : { zxid: zxidNumber(r.zxid), result: { ok: true, results: [{ type: 'delete', path: op.path }] } };
      }
      case 'check': {
        // ZooKeeper has no check outside a multi: a multi of one.
        const r = await this.multi(client, [op]);
        return r;
      }
      case 'setACL': {
        const r = await client.setACL(op.path, op.acl, op.version);
        return 'code' in r ? r : { zxid: zxidNumber(r.zxid), result: { ok: true, results: [{ type: 'setACL', path: op.path, stat: statOf(r.stat) }] } };
      }
    }
  }

  /** Zk-Min-Zxid: the shared connection's server catches up with the leader; past that, the zxid is not the ensemble's yet. */
  async waitFor(zxid: number): Promise<ZkError | undefined> {
    if (zxid <= this.zxid) return undefined;
    const synced = await this.shared.sync('/');
    if ('code' in synced && synced.code !== 'NONODE') return synced;
    const probed = await this.shared.probe();
    if (!('code' in probed)) this.saw(zxidNumber(probed.zxid));
    return zxid <= this.zxid ? undefined : zkError('OPERATIONTIMEOUT', `zxid ${zxid} is not applied by the ensemble yet`);
  }

  async sync(): Promise<ZkError | undefined> {
    const synced = await this.shared.sync('/');
    if ('code' in synced && synced.code !== 'NONODE') return synced;
    if (!('code' in synced)) this.saw(zxidNumber(synced.zxid));
    return undefined;
  }

  cluster(): ClusterView {
    const connected = this.shared.session.server;
    const lastZxid = String(this.zxid);
    return {
      self: 0, role: 'gateway', leader: null, epoch: Math.floor(this.zxid / 2 ** 32), lastZxid, commitZxid: lastZxid,
      members: this.options.ensemble.servers.map((s, i) => ({
        id: i + 1, address: `${s.host}:${s.port}`, role: 'zookeeper', lag: null,
        connected: connected !== undefined && connected.host === s.host && connected.port === s.port,
      })),
    };
  }

  readiness(): ZkError | undefined {
    return this.shared.session.state === 'connected' ? undefined : zkError('CONNECTIONLOSS', `the gateway's ZooKeeper session is ${this.shared.session.state}`);
  }

  /** Sessions are detached (they continue through another gateway), the shared session is closed. */
  async close(): Promise<void> {
    this.changes.close();
    await this.sessions.shutdown();
    await this.callers.close();
    await this.connection.close();
  }

  /** For Caller-less uses (tests): the anonymous caller. */
  static readonly anonymous: Caller = { identities: [], address: '127.0.0.1', auth: [] };
}

function authUnmapped(path: string): ZkError {
  return zkError('INVALIDACL', "an 'auth' entry needs a caller ZooKeeper can authenticate (HTTP Basic) on a gateway: the ensemble would give the node the gateway's identity", path);
}

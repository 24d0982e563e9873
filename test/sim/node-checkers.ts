/**
 * Checkers of the node simulation.
 *
 * After every event (cheap): at most one leader per term; on each host the tree's applied zxid
 * is the consensus' applied index and commit ≤ last. On every apply: each host applies log
 * indexes one by one from its checkpoint (or 1), and the same index has the same zxid and the
 * same output (result, events, session end) on every host that applies it, replays included;
 * a checkpoint installed from the leader lands on a zxid some host applied, ahead of this one.
 * The output includes the watch deliveries (which session gets which event), so every host
 * that applies an entry routes the same events to the same sessions.
 *
 * After healing: every host applied through the same index; all trees are equal
 * (nodes with data and Stat, sessions and their ephemerals, watches); sessions and ephemerals agree (an
 * ephemeral's owner is open, a session's ephemerals are its own, an ended session owns
 * nothing; at most one close of a session succeeds); every acknowledged request is in the final
 * log with the result its client got, and its effect is visible unless a later transaction
 * changed that path; and the recorded histories are linearizable (test/linearizability/checker.ts
 * with the model of node-model.ts), the leader's expiries, watched reads and linearizable
 * (ReadIndex) reads at any node included. Watches: every entry's deliveries are what ZooKeeper's
 * watch semantics say (node-watch-model.ts), every host's registry holds the model's watches,
 * and every open session's outbox on every host holds what the log routed to it, with the same
 * ids, an overflow where a restart or an install lost some (node-outboxes.ts).
 *
 * Exactly-once writes: for each request id (client, id) in the final log, its first entry applied
 * it; every later entry of that id changed nothing and answered the first result and zxid (the
 * same operation), BADARGUMENTS (another operation), or SESSIONEXPIRED (its session had ended,
 * taking its ids); no id has more entries than attempts that may have been ordered; and every
 * answer a client got for an id is the first one, the same way (across leader changes,
 * restarts from checkpoints and checkpoint installs alike).
 *
 * Session liveness, decided by the real SessionManager on the leader: once the cluster has
 * converged (one leader, everyone connected), no session a live client keeps alive expires (before
 * that, one may: its client could reach no leader for its whole timeout); every other session
 * (dead clients', and those whose open or close got no answer) expires within its timeout plus
 * two election timeouts of healing, of the final leader's election, of its creation, or of when
 * the final leader began tracking it (it applied the creation late, say), whichever is last; and
 * at the end the only sessions left are those live clients hold, and those the leader tracks
 * whose expiry is not due yet (an open that reached the leader late, after its client gave up).
 */
import { epochOf, indexOf } from '../../src/core/consensus/zxid.ts';
import type { DataTree } from '../../src/core/tree/data-tree.ts';
import type { ApplyOutput, OpResult } from '../../src/core/tree/results.ts';
import type { Txn, TxnEnvelope } from '../../src/core/tree/txn.ts';
import { checkLinearizable } from '../linearizability/checker.ts';
import { MS_PER_TICK, type NodeCluster, type SimNode } from './node-cluster.ts';
import { historyOf, isReusedId } from './node-history.ts';
import type { SessionLedger } from './node-sessions.ts';
import { nodeModel } from './node-model.ts';
import { AppliedRanges, checkOutboxes, type OutboxCounts } from './node-outboxes.ts';
import type { WatchCounts } from './node-watch-model.ts';
import type { OpRecord } from './node-records.ts';
import { checkWatches, sortWatches } from './node-watch-model.ts';
import type { Workload } from './node-workload.ts';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}

function fail(message: string): never {
  throw new InvariantViolation(message);
}

interface LogEntry {
  readonly zxid: number;
  readonly txn: Txn;
  readonly hash: string;
  readonly output: ApplyOutput;
  readonly by: number;
  /** The request's unique mark (see markOf), if it has one. */
  readonly mark: string | undefined;
}

export interface FinalCounts extends WatchCounts, OutboxCounts {
  readonly entries: number;
  readonly acked: number;
  readonly operations: number;
  /** The linearizability search hit its bound: neither proven nor refuted. */
  readonly inconclusive: boolean;
  /** Request ids in the log; their entries after the first (retries and reuses answered from the table). */
  readonly requestIds: number;
  readonly repeatedIds: number;
  /** Sessions acknowledged open; expired by a leader; of those, expired while a live client held them. */
  readonly opened: number;
  readonly expired: number;
  readonly expiredLive: number;
  /** Linearizable (ReadIndex) reads of a znode in the history; watched reads answered. */
  readonly linearizableReads: number;
  readonly watchedReads: number;
}

/** When the run healed and when it had converged, in ticks. */
export interface Phases {
  readonly healedTick: number;
  readonly convergedTick: number;
  readonly electionTicks: number;
}

const LINEARIZABILITY_MAX_STATES = 400_000;

/** A 53-bit hash (cyrb53) of the output's JSON. */
export function hashOf(value: unknown): string {
  const s = JSON.stringify(value);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

export class NodeChecker {
  private readonly leaderOfTerm = new Map<number, number>();
  /** The first tick each term's leader was seen leading: its sessions' timeouts start afresh no earlier. */
  private readonly leaderSeenTick = new Map<number, number>();
  /** The first output applied at each log index, by any host. */
  readonly log = new Map<number, LogEntry>();
  /** Per node, the index its tree is at (applied one by one, or jumped to by a checkpoint). */
  private readonly appliedIndex = new Map<number, number>();
  /** Per node, what its SessionManager saw applied one by one (its outboxes hold those events). */
  private readonly ranges = new AppliedRanges();

  onApplied(node: SimNode, output: ApplyOutput, zxid: number, envelope: TxnEnvelope): void {
    const last = this.appliedIndex.get(node.id) ?? 0;
    const index = indexOf(zxid);
    check(index === last + 1, `n${node.id} applied index ${index} (zxid ${zxid}) after ${last}: applies must go one by one`);
    this.appliedIndex.set(node.id, index);
    this.ranges.applied(node.id, index);
    // The whole output, deliveries included (a field left out of the JSON would go unchecked).
    const hash = hashOf([output.result, output.events, output.deliveries ?? [], output.sessionEnd, output.firstZxid]);
    const known = this.log.get(index);
    if (!known) {
      this.log.set(index, { zxid, txn: envelope.txn, hash, output, by: node.id, mark: markOf(envelope.txn) });
      return;
    }
    check(known.zxid === zxid, `State machine safety: n${node.id} applied zxid ${zxid} at index ${index}, n${known.by} applied zxid ${known.zxid}`);
    check(known.hash === hash, `n${node.id} and n${known.by} got different outputs from zxid ${zxid}: ${JSON.stringify(output)} vs ${JSON.stringify(known.output)}`);
  }

  /** A restarted host starts from its checkpoint (or the beginning) and replays the log after it. */
  onRestart(node: SimNode): void {
    this.appliedIndex.set(node.id, node.checkpoint?.index ?? 0);
    this.ranges.restart(node.id, node.checkpoint?.index ?? 0);
  }

  /** The checkpoint holds what the skipped entries did: some host applied each of them one by one. */
  onCheckpointInstalled(node: SimNode, zxid: number): void {
    const index = indexOf(zxid);
    check(index > (this.appliedIndex.get(node.id) ?? 0), `n${node.id} installed checkpoint ${index} behind what it applied`);
    check(this.log.get(index)?.zxid === zxid, `n${node.id} installed a checkpoint at zxid ${zxid}, which no host applied`);
    this.appliedIndex.set(node.id, index);
    this.ranges.installed(node.id, index);
  }

  /**
   * Once its loop has run, a host knows whether it leads: one that stopped has answered its
   * writes in flight (CONNECTIONLOSS) and told its role listeners, so leader duties stop.
   */
  afterRun(node: SimNode): void {
    const host = node.host;
    if (!host) return;
    const s = host.status();
    check((node.toldRole === 'leader') === (s.role === 'leader'),
      `n${node.id} is ${s.role} at term ${s.term} (leader ${s.leader}) but its host last told its listeners "${node.toldRole}" after its loop ran; ${host.pendingWrites} writes in flight still unanswered`);
  }

  afterEvent(cluster: NodeCluster): void {
    for (const node of cluster.up()) {
      const host = node.host!;
      const s = host.status();
      check(s.commitIndex <= s.lastIndex && s.appliedIndex <= s.commitIndex, `n${node.id} applied ${s.appliedIndex} commit ${s.commitIndex} last ${s.lastIndex}`);
      check(indexOf(host.appliedZxid) === s.appliedIndex || s.pendingSnapshot === s.appliedIndex, `n${node.id} tree at zxid ${host.appliedZxid} but consensus applied ${s.appliedIndex}`);
      if (s.role !== 'leader') continue;
      const holder = this.leaderOfTerm.get(s.term);
      check(holder === undefined || holder === node.id, `Election safety: n${holder} and n${node.id} both led term ${s.term}`);
      this.leaderOfTerm.set(s.term, node.id);
      if (!this.leaderSeenTick.has(s.term)) this.leaderSeenTick.set(s.term, cluster.tick);
    }
  }

  /** Everything a converged cluster must satisfy; `cluster` is up, connected and idle. */
  checkFinal(cluster: NodeCluster, workload: Workload, phases: Phases): FinalCounts {
    check(workload.violations.length === 0, workload.violations.join('; '));
    const nodes = cluster.nodes;
    // Each applied entry was checked against the first host's output for its index as it came.
    const last = nodes.map((n) => this.appliedIndex.get(n.id) ?? 0);
    for (let i = 1; i < nodes.length; i++) {
      check(last[i] === last[0], `n${nodes[i]!.id} applied through ${last[i]}, n${nodes[0]!.id} through ${last[0]}`);
    }
    const digests = nodes.map((n) => digestOf(n.host!.tree));
    for (let i = 1; i < nodes.length; i++) {
      check(digests[i] === digests[0], `trees differ: n${nodes[0]!.id} vs n${nodes[i]!.id}: ${firstDifference(digests[0]!, digests[i]!)}`);
    }
    for (const record of workload.records) {
      const node = cluster.node(record.node);
      check(record.status !== 'pending' || node.incarnation !== record.incarnation,
        `request #${record.id} (${record.txn.type}) at n${record.node}, which never crashed, got no answer by the end`);
    }
    const ended = this.endedSessions();
    for (const node of nodes) checkSessions(node, ended);
    const tree = nodes[0]!.host!.tree;
    checkClaims(workload.records, this.log);
    const acked = this.checkAcknowledged(workload.records, tree, ended);
    const ids = checkExactlyOnce(workload.records, this.log, ended);
    this.checkExpiriesDue(workload.sessions);
    checkLiveness(cluster, workload, phases);
    const expiries = workload.sessions.expiries;
    const watches = checkWatches(this.log, cluster.nodes.map((n) => ({ id: n.id, tree: n.host!.tree })), fail);
    const outboxes = checkOutboxes(cluster, this.log, this.ranges, fail);
    const history = historyOf(workload.records, workload.reads, expiries);
    const result = checkLinearizable(history, nodeModel, { maxStates: LINEARIZABILITY_MAX_STATES, timeoutMs: 60_000 });
    if (result.ok === false) throw new InvariantViolation(`not linearizable: ${result.message}`);
    return {
      entries: this.log.size, acked, operations: history.length, ...ids, inconclusive: result.ok === 'unknown',
      opened: workload.sessions.owner.size, expired: expiries.length, expiredLive: expiries.filter((e) => e.heldByLive).length,
      linearizableReads: workload.reads.filter((r) => r.kind === 'linearizable').length,
      watchedReads: workload.records.filter((r) => r.txn.type === 'watch' && r.txn.request.op !== 'addWatch' && r.txn.request.op !== 'removeWatches' && r.status === 'done').length,
      ...watches, ...outboxes,
    };
  }

  /**
   * A leader expires a session only once a whole timeout has passed since it began leading (a
   * fresh timeout for every session), since the session's creation, and since the last keepalive
   * the session's client sent it while it led.
   */
  private checkExpiriesDue(sessions: SessionLedger): void {
    for (const end of sessions.expiries) {
      const term = epochOf(end.zxid);
      const since = { leading: this.leaderSeenTick.get(term) ?? 0, created: sessions.createdTick.get(end.session) ?? 0, keptAlive: sessions.lastKeptAlive(end.session, term, end.proposedTick) };
      const dueTick = Math.max(since.leading, since.created, since.keptAlive) + sessions.timeoutMs.get(end.session)! / MS_PER_TICK;
      check(end.proposedTick >= dueTick,
        `n${this.leaderOfTerm.get(term)}, leader of term ${term}, expired session ${end.session} at t${end.proposedTick}, before its timeout ran out at t${dueTick} (ticks since: ${JSON.stringify(since)})`);
    }
  }

  /** Each session's end; a session ends once (a second close finds it gone and fails). */
  private endedSessions(): Map<number, number> {
    const ended = new Map<number, number>();
    for (const entry of this.log.values()) {
      const end = entry.output.sessionEnd;
      if (!end) continue;
      check(!ended.has(end.sessionId), `session ${end.sessionId} ended twice: at zxid ${ended.get(end.sessionId)} and ${entry.zxid}`);
      ended.set(end.sessionId, entry.zxid);
    }
    return ended;
  }

  /** Zxids of each path's changes in the final log. */
  private changes(): Map<string, number[]> {
    const byPath = new Map<string, number[]>();
    for (const entry of this.log.values()) {
      for (const event of entry.output.events) {
        if (event.type === 'NodeChildrenChanged') continue;
        const list = byPath.get(event.path) ?? [];
        list.push(event.zxid);
        byPath.set(event.path, list);
      }
    }
    return byPath;
  }

  /** Every acknowledged request is in the final log, as answered, and its effect is visible or overwritten later. */
  private checkAcknowledged(records: readonly OpRecord[], tree: DataTree, ended: Map<number, number>): number {
    const changes = this.changes();
    const changedAfter = (path: string, zxid: number) => (changes.get(path) ?? []).some((z) => z > zxid);
    let acked = 0;
    for (const record of records) {
      if (record.status !== 'done') continue;
      acked++;
      const entry = this.log.get(indexOf(record.zxid));
      const what = `acknowledged request #${record.id} (${record.txn.type}, zxid ${record.zxid})`;
      check(entry?.zxid === record.zxid, `${what} is not in the final log (it has zxid ${entry?.zxid} there)`);
      check(hashOf(entry.output.result) === hashOf(record.result), `${what} was answered ${JSON.stringify(record.result)} but applied as ${JSON.stringify(entry.output.result)}`);
      const result = record.result;
      if (record.txn.type === 'createSession' && result?.ok && 'sessionId' in result) {
        check(tree.sessions.get(result.sessionId) || (ended.get(result.sessionId) ?? 0) > record.zxid, `${what}: session ${result.sessionId} is gone, never closed`);
      }
      if (record.txn.type === 'closeSession' && result?.ok) check(!tree.sessions.get(record.txn.sessionId), `${what}: session still open`);
      if (!result || !('results' in result)) continue;
      const ops = record.txn.type === 'write' ? record.txn.ops : [];
      result.results.forEach((r, i) => {
        const problem = effectMissing(tree, r, ops[i]?.type === 'setData' ? ops[i] : undefined, record.zxid);
        check(!problem || changedAfter(r.path, record.zxid), `${what}: ${problem} and no later change of ${r.path}`);
      });
    }
    return acked;
  }
}

const text = new TextDecoder();

const tagOf = (txn: Txn): string | undefined =>
  txn.type === 'write' && txn.request ? `${txn.request.client}\u0000${txn.request.id}` : undefined;

/** What a request id's digest covers: ops with their data, multi, session. */
const operationOf = (txn: Txn): string =>
  txn.type !== 'write' ? '' : JSON.stringify([txn.ops.map((op) => ({ ...op, ...('data' in op ? { data: text.decode(op.data) } : {}) })), txn.multi, txn.sessionId]);

const isCode = (result: ApplyOutput['result'], code: string) => result !== undefined && !result.ok && 'error' in result && result.error.code === code;

/** The session a request id's namespace ended with (its ids went), before `zxid`. */
function endedBefore(txn: Txn, ended: Map<number, number>, zxid: number): boolean {
  if (txn.type !== 'write' || !txn.request?.client.startsWith('session:')) return false;
  const end = ended.get(Number(txn.request.client.slice('session:'.length)));
  return end !== undefined && end < zxid;
}

/** See the header: each request id applied once, every answer for it the first one. */
function checkExactlyOnce(records: readonly OpRecord[], log: ReadonlyMap<number, LogEntry>, ended: Map<number, number>): { requestIds: number; repeatedIds: number } {
  const entries = new Map<string, LogEntry[]>();
  for (let index = 1; log.has(index); index++) {
    const entry = log.get(index)!;
    const tag = tagOf(entry.txn);
    if (tag === undefined) continue;
    const list = entries.get(tag) ?? [];
    list.push(entry);
    entries.set(tag, list);
  }
  let repeated = 0;
  for (const [tag, [first, ...later]] of entries) {
    const what = `request id ${JSON.stringify(tag)}`;
    check(first!.output.firstZxid === undefined, `${what}: its first entry (zxid ${first!.zxid}) answered as a retry of zxid ${first!.output.firstZxid}`);
    for (const entry of later) {
      repeated++;
      const at = `${what} at zxid ${entry.zxid} (first at ${first!.zxid})`;
      check(entry.output.events.length === 0, `${at} was applied again: ${JSON.stringify(entry.output.events)}`);
      if (endedBefore(entry.txn, ended, entry.zxid)) {
        check(isCode(entry.output.result, 'SESSIONEXPIRED') && entry.output.firstZxid === undefined, `${at}, after its session ended, answered ${JSON.stringify(entry.output)}`);
      } else if (operationOf(entry.txn) === operationOf(first!.txn)) {
        check(entry.output.firstZxid === first!.zxid && hashOf(entry.output.result) === hashOf(first!.output.result),
          `${at} answered ${JSON.stringify(entry.output.result)} (first zxid ${entry.output.firstZxid}), not the first result ${JSON.stringify(first!.output.result)}`);
      } else {
        check(isReusedId(entry.output.result as OpRecord['result']) && entry.output.firstZxid === undefined, `${at}, another operation, answered ${JSON.stringify(entry.output)}`);
      }
    }
  }
  const ordered = new Map<string, number>();
  for (const record of records) {
    const tag = tagOf(record.txn);
    if (tag === undefined) continue;
    if (record.status !== 'refused') ordered.set(tag, (ordered.get(tag) ?? 0) + 1);
    if (record.status !== 'done') continue;
    const first = entries.get(tag)?.[0];
    const what = `request #${record.id} (id ${JSON.stringify(tag)})`;
    check(first, `${what} was answered but its id is not in the log`);
    if (isCode(record.result, 'SESSIONEXPIRED') && endedBefore(record.txn, ended, record.zxid)) continue;
    if (operationOf(record.txn) === operationOf(first.txn)) {
      check(record.zxid === first.zxid && hashOf(record.result) === hashOf(first.output.result),
        `${what} was answered ${JSON.stringify(record.result)} at zxid ${record.zxid}, not the first result ${JSON.stringify(first.output.result)} at ${first.zxid}`);
    } else {
      check(isReusedId(record.result), `${what}, another operation than the id's first, was answered ${JSON.stringify(record.result)}`);
    }
  }
  for (const [tag, list] of entries) {
    check(list.length <= (ordered.get(tag) ?? 0), `request id ${JSON.stringify(tag)} has ${list.length} log entries but only ${ordered.get(tag) ?? 0} attempts that may have been ordered`);
  }
  return { requestIds: entries.size, repeatedIds: repeated };
}

/**
 * A request's unique mark in the log: the data of its first op with data, its session's token
 * hash (none when the open was refused before it drew a token), or for a client's close its
 * session (only the owner closes a session, once; the leader's expiries are nobody's request).
 */
function markOf(txn: Txn): string | undefined {
  if (txn.type === 'createSession') return txn.tokenHash === '' ? undefined : `token ${txn.tokenHash}`;
  if (txn.type === 'closeSession') return txn.reason === 'closed' ? `close ${txn.sessionId}` : undefined;
  // A tagged request may rightly be in the log more than once (retries): checkExactlyOnce covers it.
  if (txn.type !== 'write' || txn.request !== undefined) return undefined;
  for (const op of txn.ops) if ('data' in op) return `data ${text.decode(op.data)}`;
  return undefined;
}

/** No request is in the final log twice; none the host called certainly not applied is there at all. */
function checkClaims(records: readonly OpRecord[], log: ReadonlyMap<number, LogEntry>): void {
  const logged = new Map<string, number>();
  for (let index = 1; log.has(index); index++) {
    const { mark } = log.get(index)!;
    if (mark === undefined) continue;
    check(!logged.has(mark), `one request is in the log twice (${mark}): at ${logged.get(mark)} and ${index}`);
    logged.set(mark, index);
  }
  for (const record of records) {
    const mark = markOf(record.txn);
    if (record.status !== 'refused' || mark === undefined) continue;
    check(!logged.has(mark), `request #${record.id} (${mark}) at n${record.node} was answered as certainly not applied, but the final log has it at index ${logged.get(mark)}`);
  }
}

/** Why the acknowledged op's effect is not in the final tree, or undefined when it is. */
function effectMissing(tree: DataTree, result: OpResult, op: { data: Uint8Array } | undefined, zxid: number): string | undefined {
  const node = tree.get(result.path);
  switch (result.type) {
    case 'create':
      return node?.czxid === zxid ? undefined : `created ${result.path} is ${node ? `from zxid ${node.czxid}` : 'absent'}`;
    case 'setData': {
      const same = node?.mzxid === zxid && Buffer.from(node.data).equals(Buffer.from(op!.data));
      return same ? undefined : `set ${result.path} has ${node ? `mzxid ${node.mzxid}` : 'gone'}`;
    }
    case 'delete':
      return node && node.czxid < zxid ? `deleted ${result.path} still exists` : undefined;
    default:
      return undefined;
  }
}

/** Sessions end as their clients' liveness says (see the header); `cluster` has converged and idled since. */
function checkLiveness(cluster: NodeCluster, workload: Workload, { healedTick, convergedTick, electionTicks }: Phases): void {
  const { sessions, clients } = workload;
  const live = (session: number) => clients[(sessions.owner.get(session) ?? 0) - 1]?.alive === true;
  const leader = cluster.leaders()[0]!;
  const leaderSinceTick = leader.leaderSinceTick;
  for (const end of sessions.expiries) {
    check(!(end.heldByLive && end.tick > convergedTick),
      `session ${end.session} of live client c${sessions.owner.get(end.session)} expired at t${end.tick} (zxid ${end.zxid}), after the cluster converged at t${convergedTick}`);
    if (end.heldByLive || end.tick <= healedTick) continue;
    const from = Math.max(healedTick, leaderSinceTick, sessions.createdTick.get(end.session) ?? 0, sessions.trackedBy(leader.id, end.session));
    const dueTick = from + sessions.timeoutMs.get(end.session)! / MS_PER_TICK + 2 * electionTicks;
    check(end.tick <= dueTick,
      `session ${end.session}, kept alive by nobody, expired only at t${end.tick}, due by t${dueTick} (healed t${healedTick}, leader since t${leaderSinceTick}, tracked there since t${sessions.trackedBy(leader.id, end.session)})`);
  }
  for (const session of cluster.nodes[0]!.host!.tree.sessions.all()) {
    const owner = sessions.owner.get(session.id);
    if (live(session.id) && clients[owner! - 1]!.sessions.includes(session.id)) continue;
    // An open forwarded before the heal can reach the leader late, within its deadline, and be
    // applied after the client gave up on it (seed 701126: asked at t196, applied at t246): its
    // expiry is then due after the run's end. Such a session must be tracked by the leader.
    const trackedSince = sessions.trackedBy(leader.id, session.id);
    const from = Math.max(healedTick, leaderSinceTick, sessions.createdTick.get(session.id) ?? 0, trackedSince);
    const dueTick = from + sessions.timeoutMs.get(session.id)! / MS_PER_TICK + 2 * electionTicks;
    if (trackedSince > 0 && cluster.tick < dueTick) continue;
    const why = owner === undefined ? 'its open got no answer' : live(session.id) ? `client c${owner} asked to close it` : `client c${owner} died`;
    check(false, `session ${session.id} is still open at t${cluster.tick}, though ${why} (expiry due by t${dueTick}; tracked by the leader since t${trackedSince})`);
  }
}

/** Ephemerals and sessions agree on one node; an ended session owns nothing. */
function checkSessions(node: SimNode, ended: Map<number, number>): void {
  const tree = node.host!.tree;
  for (const znode of tree.snapshot()) {
    if (znode.kind !== 'ephemeral') continue;
    const owner = znode.ephemeralOwner;
    check(tree.sessions.get(owner), `n${node.id}: ephemeral ${znode.path} of session ${owner}, which is not open`);
    check(tree.sessions.ephemeralsOf(owner).includes(znode.path), `n${node.id}: session ${owner} does not list its ephemeral ${znode.path}`);
  }
  for (const session of tree.sessions.all()) {
    check(!ended.has(session.id), `n${node.id}: session ${session.id} ended at zxid ${ended.get(session.id)} but is open`);
    for (const path of tree.sessions.ephemeralsOf(session.id)) {
      const znode = tree.get(path);
      check(znode?.kind === 'ephemeral' && znode.ephemeralOwner === session.id, `n${node.id}: session ${session.id} lists ${path}, which it does not own`);
    }
  }
  for (const id of ended.keys()) check(tree.sessions.ephemeralsOf(id).length === 0, `n${node.id}: ended session ${id} still owns ephemerals`);
}

/** The whole replicated state as one string: nodes with data and Stat, sessions with their ephemerals. */
export function digestOf(tree: DataTree): string {
  const nodes = tree.snapshot()
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((n) => ({ path: n.path, data: Buffer.from(n.data).toString('base64'), kind: n.kind, ttlMs: n.ttlMs, ...tree.stat(n.path)! }));
  const sessions = tree.sessions.all()
    .sort((a, b) => a.id - b.id)
    .map((s) => ({ ...s, ephemerals: tree.sessions.ephemeralsOf(s.id) }));
  return JSON.stringify({ zxid: tree.appliedZxid, nodes, sessions, watches: sortWatches(tree.watches.all()) });
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 80);
  return `…${a.slice(from, i + 80)}… vs …${b.slice(from, i + 80)}…`;
}

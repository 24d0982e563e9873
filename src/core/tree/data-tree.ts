/**
 * The in-memory tree of znodes: the replicated state machine. Pure and deterministic: no I/O,
 * no clock (time comes from the transaction), so every replica that applies the same log gets
 * the same tree, and a test can run it standalone.
 *
 * Invariants: every node but the root has its parent in `nodes`; `children` lists exactly the
 * nodes whose parent is that path; records in `nodes` are never mutated, only replaced.
 */
import { AclCache, OPEN_ACL, PERM, READ_ACL } from '../acl/acl.ts';
import { permits } from '../acl/check.ts';
import { assert, assertNever, zkError } from '../errors.ts';
import { SessionTable, type SessionRecord } from '../session/session-table.ts';
import { WatchRegistry, type Delivery, type WatchRecord } from '../watch/watch-registry.ts';
import { applyOp, applyReap, SERVER, type Asker } from './ops.ts';
import { RequestTable, sessionClient, sessionOfClient, type RequestRecord } from './request-table.ts';
import { applyWatchRequest } from './watch-ops.ts';
import { parentOf } from './path.ts';
import { QUOTA_DIR, quotaRootOf, type QuotaRoot } from './quota.ts';
import type { ApplyOutput, QuotaExceeded, SessionResult, TreeEvent, WriteResult } from './results.ts';
import type { SessionEndReason, Txn, TxnEnvelope, WriteOp } from './txn.ts';
import { writeDigest } from './write-digest.ts';
import type { Stat, Znode } from './znode.ts';
import { statOf } from './znode.ts';

/** Nodes ZooKeeper creates at start-up; they have zero stats and cannot be deleted. */
export const SYSTEM_PATHS = ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config'] as const;

const EMPTY = new Uint8Array(0);

function systemNode(path: string): Znode {
  // ZooKeeper sets /zookeeper/config's ACL (read-only for all) at start-up with version -1, hence its aversion.
  const config = path === '/zookeeper/config';
  return {
    path, data: EMPTY, czxid: 0, mzxid: 0, pzxid: 0, ctime: 0, mtime: 0, version: 0,
    aversion: config ? -1 : 0, creations: 0, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0,
    acl: config ? READ_ACL : OPEN_ACL,
  };
}

/** No path starts with it, so no node is taken for its child. */
const NO_PARENT = '\u0000';

interface LastParent {
  path: string;
  children: string[];
}

export class DataTree {
  /** Open sessions and the ephemerals each owns: replicated state like the nodes. */
  readonly sessions: SessionTable;
  /** Every session's watches: replicated too, so every replica routes events alike. */
  readonly watches: WatchRegistry;
  /** The first answer of each recent request id (exactly-once writes): replicated, checkpointed. */
  readonly requests: RequestTable;
  /** Every distinct ACL the nodes hold, once. */
  readonly acls = new AclCache();
  private readonly nodes = new Map<string, Znode>();
  /**
   * Each parent's children by path: the very strings keying `nodes`, so a name costs no string.
   * An array while children are only added (a checkpoint load adds millions: a push costs far less
   * than a Set entry, in time and memory); a Set from a parent's first removal of a child.
   */
  private readonly children = new Map<string, string[] | Set<string>>();
  /** Container and TTL nodes: the only candidates for server-side cleanup. */
  private readonly reapable = new Set<string>();
  /** Undo records of the transaction being applied, so a failed multi leaves no trace. */
  private undo: Array<() => void> | undefined;
  private lastZxid = 0;
  /**
   * Quota roots: `/p` while `/zookeeper/quota/p/zookeeper_limits` exists (ZooKeeper's pTrie). Kept
   * by insert() and remove(), so an undone multi restores it too; a function of the nodes alone,
   * so a tree built from a checkpoint has the same (see src/core/tree/quota.ts).
   */
  private readonly quotaRoots = new Map<string, QuotaRoot>();
  /** Quota limits the txn being applied passed, for its ApplyOutput. */
  private quotaNotes: QuotaExceeded[] = [];

  constructor(
    nodes?: Iterable<Znode>, lastZxid = 0, sessions: Iterable<SessionRecord> = [], watches: Iterable<WatchRecord> = [],
    requests: Iterable<RequestRecord> = [],
  ) {
    this.sessions = new SessionTable(sessions);
    this.watches = new WatchRegistry(watches);
    this.requests = new RequestTable(requests);
    let count = 0;
    // Checkpoints list siblings together: the last parent's children, found without a lookup.
    const last: LastParent = { path: NO_PARENT, children: [] };
    for (const node of nodes ?? SYSTEM_PATHS.map(systemNode)) {
      this.insert(node, last);
      this.acls.adopt(node.acl);
      count++;
      if (node.kind === 'ephemeral') assert(this.sessions.get(node.ephemeralOwner), `${node.path} has no session`);
    }
    // A path twice would be listed twice as its parent's child.
    assert(this.nodes.size === count, 'the tree lists a path twice');
    this.lastZxid = lastZxid;
    for (const path of SYSTEM_PATHS) assert(this.nodes.has(path), `tree lacks ${path}`);
    this.findQuotaRoots();
    for (const parent of this.children.keys()) assert(this.nodes.has(parent), `orphans under ${parent}`);
    for (const w of this.watches.all()) assert(this.sessions.get(w.sessionId), `a watch on ${w.path} has no session`);
    for (const r of this.requests.all()) {
      assert(r.zxid <= lastZxid, `request ${r.id} of ${r.client} answered at zxid ${r.zxid}, after the tree's ${lastZxid}`);
      const session = sessionOfClient(r.client);
      assert(session === undefined || this.sessions.get(session), `request ${r.id} of ${r.client}, whose session is not open`);
    }
  }

  /** ZooKeeper's setupQuota, without its recomputation: only the nodes under /zookeeper/quota are visited. */
  private findQuotaRoots(): void {
    const stack = [QUOTA_DIR];
    for (let path = stack.pop(); path !== undefined; path = stack.pop()) {
      const root = quotaRootOf(path);
      if (root !== undefined) this.quotaRoots.set(root.path, root);
      const children = this.children.get(path);
      if (children) for (const child of children) stack.push(child);
    }
  }

  /** Whether a session may READ the node an event is about (its opener's identities, the node's ACL then). */
  private readonly mayRead = (sessionId: number, event: TreeEvent): boolean =>
    event.acl === undefined || permits(event.acl, PERM.READ, this.sessions.get(sessionId)?.auth ?? []);

  /** The zxid of the last transaction applied. */
  get appliedZxid(): number {
    return this.lastZxid;
  }

  get size(): number {
    return this.nodes.size;
  }

  get(path: string): Znode | undefined {
    return this.nodes.get(path);
  }

  stat(path: string): Stat | undefined {
    const node = this.nodes.get(path);
    return node && statOf(node, this.numChildren(path));
  }

  numChildren(path: string): number {
    const children = this.children.get(path);
    if (!children) return 0;
    return Array.isArray(children) ? children.length : children.size;
  }

  /** Child names, sorted as ZooKeeper's clients usually present them. */
  childNames(path: string): string[] {
    const set = this.children.get(path);
    if (!set) return [];
    const skip = path === '/' ? 1 : path.length + 1;
    return [...set].map((child) => child.slice(skip)).sort();
  }

  /** The deepest quota root that is `path` or one of its ancestors (never `/`), if any. */
  deepestQuotaRoot(path: string): QuotaRoot | undefined {
    // The common case, no quota anywhere, costs one size check per write.
    if (this.quotaRoots.size === 0) return undefined;
    if (this.quotaRoots.size > 8) {
      for (let p = path; p.length > 1; p = p.slice(0, p.lastIndexOf('/'))) {
        const root = this.quotaRoots.get(p);
        if (root) return root;
      }
      return undefined;
    }
    // A few roots: comparing with each costs less than hashing every ancestor's path.
    let deepest: QuotaRoot | undefined;
    for (const root of this.quotaRoots.values()) {
      const r = root.path;
      if (path.startsWith(r) && (path.length === r.length || path.charCodeAt(r.length) === 0x2f) && r.length > (deepest?.path.length ?? 0)) {
        deepest = root;
      }
    }
    return deepest;
  }

  /** The quota roots, sorted. */
  quotaRootPaths(): string[] {
    return [...this.quotaRoots.keys()].sort();
  }

  /** The node at `path` and all its descendants: how many, and their data bytes (ZooKeeper's getCounts). */
  subtreeTotals(path: string): { count: number; bytes: number } {
    let count = 0;
    let bytes = 0;
    const stack = this.nodes.has(path) ? [path] : [];
    for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
      count++;
      bytes += this.nodes.get(p)!.data.length;
      const children = this.children.get(p);
      if (children) for (const child of children) stack.push(child);
    }
    return { count, bytes };
  }

  /** Called by quota.ts while a txn applies: reported in its ApplyOutput. */
  noteQuotaExceeded(note: QuotaExceeded): void {
    this.quotaNotes.push(note);
  }

  reapCandidates(): IterableIterator<string> {
    return this.reapable.values();
  }

  /** Every node, by reference: O(n) pointer copies, safe to read while later txns apply. */
  snapshot(): Znode[] {
    return [...this.nodes.values()];
  }

  /**
   * Applies one committed transaction at `zxid`: its result, its events, and which sessions'
   * watches they fire (one-shot watches are consumed here). Deterministic; never throws on
   * client input.
   */
  apply(zxid: number, envelope: TxnEnvelope): ApplyOutput {
    assert(zxid > this.lastZxid, `zxid ${zxid} not after ${this.lastZxid}`);
    this.lastZxid = zxid;
    let output = this.applyTxn(zxid, envelope);
    if (this.quotaNotes.length > 0) {
      output = { ...output, quotaExceeded: this.quotaNotes };
      this.quotaNotes = [];
    }
    const routed = output.events.length > 0 ? this.watches.route(output.events, this.mayRead) : [];
    // A closed session's watches fire on its own ephemerals' deletion first, then go.
    if (output.sessionEnd) this.watches.removeSession(output.sessionEnd.sessionId);
    if (routed.length === 0) return output;
    return { ...output, deliveries: output.deliveries ? [...output.deliveries, ...routed] : routed };
  }

  private applyTxn(zxid: number, envelope: TxnEnvelope): ApplyOutput {
    const { txn, timeMs } = envelope;
    const events: TreeEvent[] = [];
    switch (txn.type) {
      case 'write':
        if (txn.request !== undefined) return this.applyRequest(txn, zxid, timeMs, events);
        return { result: this.applyWrite(txn.ops, txn.sessionId, zxid, timeMs, events, txn.auth, txn.enforceQuota === true), events };
      case 'reap':
        applyReap(this, txn.path, txn.czxid, zxid, timeMs, events);
        return { events };
      case 'createSession':
        this.sessions.open({ id: zxid, timeoutMs: txn.timeoutMs, tokenHash: txn.tokenHash, auth: txn.auth });
        return { result: { ok: true, sessionId: zxid }, events };
      case 'closeSession':
        return this.closeSession(txn.sessionId, txn.reason, zxid, events);
      case 'watch': {
        const session = this.sessions.get(txn.sessionId);
        if (!session) {
          return { result: { ok: false, watch: true, error: zkError('SESSIONEXPIRED', `session ${txn.sessionId} has ended`) }, events };
        }
        const deliveries: Delivery[] = [];
        // Judged by the session's identities, as its deliveries are (mayRead): a request that carries
        // more than the session was opened with cannot set a watch whose events would never arrive.
        const result = applyWatchRequest(this, this.watches, txn.sessionId, txn.request, zxid, deliveries, session.auth);
        return { result, events, deliveries };
      }
      case 'noop':
        return { events };
      default:
        return assertNever(txn);
    }
  }

  /**
   * A write with a request id: a retry of one in the table gets the first answer (and zxid) and
   * changes nothing; the id reused for another operation is refused and the first entry kept;
   * otherwise it applies, and its answer, success or failure, becomes the answer for the id.
   */
  private applyRequest(txn: Extract<Txn, { type: 'write' }>, zxid: number, timeMs: number, events: TreeEvent[]): ApplyOutput {
    const { client, id } = txn.request!;
    const digest = writeDigest(txn.ops, txn.multi, txn.sessionId);
    const first = this.requests.get(client, id);
    if (first?.digest === digest) return { result: first.result, events, firstZxid: first.zxid };
    if (first) {
      const result: WriteResult = { ok: false, failedOp: 0, error: zkError('BADARGUMENTS', `request id ${id} was used for a different operation`) };
      return { result, events };
    }
    const result = this.applyWrite(txn.ops, txn.sessionId, zxid, timeMs, events, txn.auth, txn.enforceQuota === true);
    // A session's ids live only as long as it: none is kept for a session not open (SESSIONEXPIRED).
    const session = sessionOfClient(client);
    if (session === undefined || this.sessions.get(session)) this.requests.record({ client, id, zxid, digest, result });
    return { result, events };
  }

  /** Deletes the session's ephemerals (their events first), then the session. */
  private closeSession(id: number, reason: SessionEndReason, zxid: number, events: TreeEvent[]): ApplyOutput {
    const session = this.sessions.get(id);
    if (!session) {
      const result: SessionResult = { ok: false, error: zkError('SESSIONEXPIRED', `session ${id} has ended`) };
      return { result, events };
    }
    for (const path of this.sessions.ephemeralsOf(id)) {
      const outcome = applyOp(this, { type: 'delete', path, version: -1 }, id, zxid, 0, events, SERVER);
      assert(!('code' in outcome), `cannot delete ephemeral ${path}`);
    }
    this.sessions.close(id);
    this.requests.dropClient(sessionClient(id));
    return { result: { ok: true, sessionId: id }, events, sessionEnd: { sessionId: id, reason, tokenHash: session.tokenHash } };
  }

  private applyWrite(
    ops: readonly WriteOp[], sessionId: number, zxid: number, timeMs: number, events: TreeEvent[], asker: Asker,
    enforceQuota: boolean,
  ) {
    if (sessionId !== 0 && !this.sessions.get(sessionId)) {
      return { ok: false as const, failedOp: 0, error: zkError('SESSIONEXPIRED', `session ${sessionId} has ended`) };
    }
    // An op checks everything before it changes anything, so only a multi needs undo records.
    this.undo = ops.length > 1 ? [] : undefined;
    try {
      const results = [];
      for (let i = 0; i < ops.length; i++) {
        const outcome = applyOp(this, ops[i]!, sessionId, zxid, timeMs, events, asker, enforceQuota);
        if ('code' in outcome) {
          const undo = this.undo ?? [];
          for (let u = undo.length - 1; u >= 0; u--) undo[u]!();
          events.length = 0;
          return { ok: false as const, failedOp: i, error: outcome };
        }
        results.push(outcome);
      }
      return { ok: true as const, results };
    } finally {
      this.undo = undefined;
    }
  }

  // Mutation primitives, used by ops.ts during apply; each records how to undo itself.

  /** Replaces (or adds) a node record whose parent already exists; a replacement keeps its kind. */
  put(node: Znode): void {
    const previous = this.nodes.get(node.path);
    this.undo?.push(() => (previous ? this.nodes.set(previous.path, previous) : this.remove(node.path)));
    if (previous) this.nodes.set(node.path, node);
    else this.insert(node);
  }

  /** Removes a node that has no children. */
  delete(path: string): void {
    const previous = this.nodes.get(path);
    assert(previous !== undefined && this.numChildren(path) === 0, `cannot delete ${path}`);
    this.undo?.push(() => this.insert(previous));
    this.remove(path);
  }

  /** `last`, while loading: the parent of the previous node and its children (an array then). */
  private insert(node: Znode, last?: LastParent): void {
    const { path } = node;
    this.nodes.set(path, node);
    // While loading, findQuotaRoots() visits only /zookeeper/quota's subtree, once, instead.
    if (last === undefined) {
      const root = quotaRootOf(path);
      if (root !== undefined) this.quotaRoots.set(root.path, root);
    }
    if (node.kind === 'container' || node.kind === 'ttl') this.reapable.add(path);
    if (node.kind === 'ephemeral') this.sessions.addEphemeral(node.ephemeralOwner, path);
    if (path === '/') return;
    if (last !== undefined && path.lastIndexOf('/') === last.path.length && path.startsWith(last.path)) {
      last.children.push(path);
      return;
    }
    const parent = parentOf(path);
    let children = this.children.get(parent);
    // Never a path already there: insert() is only called for a path not in `nodes`.
    if (!children) this.children.set(parent, (children = [path]));
    else if (Array.isArray(children)) children.push(path);
    else children.add(path);
    // Only a parent other than the root is remembered (its children's last slash is past index 0).
    if (last !== undefined && parent !== '/' && Array.isArray(children)) {
      last.path = parent;
      last.children = children;
    }
  }

  private remove(path: string): void {
    const node = this.nodes.get(path);
    if (node?.kind === 'ephemeral') this.sessions.removeEphemeral(node.ephemeralOwner, path);
    this.nodes.delete(path);
    const root = quotaRootOf(path);
    if (root !== undefined) this.quotaRoots.delete(root.path);
    this.reapable.delete(path);
    this.children.delete(path);
    const parent = parentOf(path);
    const children = this.children.get(parent);
    if (!children) return;
    if (Array.isArray(children) && children[children.length - 1] === path) children.pop();
    else this.childSet(parent, children).delete(path);
    if (this.numChildren(parent) === 0) this.children.delete(parent);
  }

  /** `parent`'s children as a Set, made from the array once (so a removal costs O(1) after). */
  private childSet(parent: string, children: string[] | Set<string>): Set<string> {
    if (!Array.isArray(children)) return children;
    const set = new Set(children);
    this.children.set(parent, set);
    return set;
  }
}

/**
 * The semantics of each write op, in ZooKeeper's order of checks (PrepRequestProcessor), so
 * that a request failing for two reasons reports the same code as ZooKeeper. ACLs are checked
 * here, at apply, against the identities the txn carries: every replica reaches the same verdict,
 * and the check sees every earlier entry of the log (ZooKeeper's outstanding changes).
 */
import { OPEN_ACL, PERM, type Acl } from '../acl/acl.ts';
import { fixupAcl, permits } from '../acl/check.ts';
import type { ZkError } from '../errors.ts';
import { assertNever, zkError } from '../errors.ts';
import type { DataTree } from './data-tree.ts';
import { parentOf, sequentialSuffix } from './path.ts';
import { checkQuota, quotaAfterCreate, quotaAfterDelete, quotaAfterSetData } from './quota.ts';
import type { OpResult, TreeEvent } from './results.ts';
import type { WriteOp } from './txn.ts';
import { compactBytes } from './byte-slab.ts';
import { isSequential, kindOf, znodeWith, type Znode } from './znode.ts';

const UNDELETABLE = new Set(['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']);

/** Who asks: the caller's identities, or SERVER for the server's own cleanup (no ACL applies). */
export type Asker = readonly string[] | typeof SERVER;
export const SERVER = undefined;

const PERM_NAMES: Record<number, string> = { [PERM.READ]: 'READ', [PERM.WRITE]: 'WRITE', [PERM.CREATE]: 'CREATE', [PERM.DELETE]: 'DELETE', [PERM.ADMIN]: 'ADMIN' };

/** NOAUTH unless the asker has `perm` on `node` (ZooKeeper's checkACL). */
export function denied(node: Znode, perm: number, asker: Asker, path = node.path): ZkError | undefined {
  if (asker === SERVER || permits(node.acl, perm, asker)) return undefined;
  return zkError('NOAUTH', `${PERM_NAMES[perm]} on ${node.path} is not granted to the caller`, path);
}

/** `enforceQuota`: the leader stamped the txn to refuse writes past a quota's hard limit. */
export function applyOp(
  tree: DataTree, op: WriteOp, sessionId: number, zxid: number, timeMs: number,
  events: TreeEvent[], asker: Asker, enforceQuota = false,
): OpResult | ZkError {
  switch (op.type) {
    case 'create':
      return create(tree, op, sessionId, zxid, timeMs, events, asker, enforceQuota);
    case 'delete':
      return remove(tree, op.path, op.version, zxid, events, asker);
    case 'setData':
      return setData(tree, op.path, op.data, op.version, zxid, timeMs, events, asker, enforceQuota);
    case 'check': {
      const node = tree.get(op.path);
      if (!node) return zkError('NONODE', `${op.path} does not exist`, op.path);
      return denied(node, PERM.READ, asker) ?? versionMismatch(node, op.version) ?? { type: 'check', path: op.path };
    }
    case 'setACL':
      return setAcl(tree, op, asker);
    default:
      return assertNever(op);
  }
}

function versionMismatch(node: Znode, version: number, actual = node.version, what = 'version'): ZkError | undefined {
  if (version === -1 || version === actual) return undefined;
  return zkError('BADVERSION', `${what} ${version} does not match ${actual}`, node.path);
}

function create(
  tree: DataTree, op: Extract<WriteOp, { type: 'create' }>, sessionId: number, zxid: number,
  timeMs: number, events: TreeEvent[], asker: Asker, enforceQuota: boolean,
): OpResult | ZkError {
  const acl = storedAcl(op.acl, asker, op.path);
  if ('code' in acl) return acl;
  const sequential = isSequential(op.mode);
  if (op.path === '/' && !sequential) return zkError('NODEEXISTS', '/ already exists', '/');
  const parentPath = parentOf(op.path);
  const parent = tree.get(parentPath);
  if (!parent) return zkError('NONODE', `parent ${parentPath} does not exist`, op.path);
  const noCreate = denied(parent, PERM.CREATE, asker, op.path);
  if (noCreate) return noCreate;
  const path = sequential ? op.path + sequentialSuffix(parent.creations) : op.path;
  if (tree.get(path)) return zkError('NODEEXISTS', `${path} already exists`, path);
  if (parent.kind === 'ephemeral') {
    return zkError('NOCHILDRENFOREPHEMERALS', `${parentPath} is ephemeral`, path);
  }
  // The last check, as in ZooKeeper; against the tree as it is now (earlier ops of a multi counted).
  const overQuota = checkQuota(tree, path, op.data.length, 1, enforceQuota);
  if (overQuota) return overQuota;
  const kind = kindOf(op.mode);
  tree.put({
    path, data: compactBytes(op.data), czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: timeMs, mtime: timeMs,
    version: 0, aversion: 0, creations: 0, kind,
    ephemeralOwner: kind === 'ephemeral' ? sessionId : 0,
    ttlMs: kind === 'ttl' ? op.ttlMs : 0, acl: tree.acls.intern(acl),
  });
  tree.put(znodeWith(parent, { creations: parent.creations + 1, pzxid: zxid }));
  quotaAfterCreate(tree, path, op.data.length);
  events.push({ type: 'NodeCreated', path, zxid, acl: tree.get(path)!.acl });
  events.push({ type: 'NodeChildrenChanged', path: parentPath, zxid, acl: parent.acl });
  return { type: 'create', path, stat: tree.stat(path)! };
}

function remove(
  tree: DataTree, path: string, version: number, zxid: number, events: TreeEvent[], asker: Asker,
): OpResult | ZkError {
  if (UNDELETABLE.has(path)) return zkError('BADARGUMENTS', `${path} cannot be deleted`, path);
  // DELETE on the parent is checked before the node's existence, as ZooKeeper does.
  const parent = tree.get(parentOf(path));
  const noDelete = parent && denied(parent, PERM.DELETE, asker, path);
  if (noDelete) return noDelete;
  const node = tree.get(path);
  if (!node) return zkError('NONODE', `${path} does not exist`, path);
  const mismatch = versionMismatch(node, version);
  if (mismatch) return mismatch;
  if (tree.numChildren(path) > 0) return zkError('NOTEMPTY', `${path} has children`, path);
  deleteNode(tree, path, zxid, events);
  return { type: 'delete', path };
}

function deleteNode(tree: DataTree, path: string, zxid: number, events: TreeEvent[]): void {
  const { acl, data } = tree.get(path)!;
  tree.delete(path);
  quotaAfterDelete(tree, path, data.length);
  const parentPath = parentOf(path);
  const parent = tree.get(parentPath)!;
  // Only move pzxid forward, as ZooKeeper does, so a replayed older txn cannot move it back.
  if (zxid > parent.pzxid) tree.put(znodeWith(parent, { pzxid: zxid }));
  events.push({ type: 'NodeDeleted', path, zxid, acl });
  events.push({ type: 'NodeChildrenChanged', path: parentPath, zxid, acl: parent.acl });
}

function setData(
  tree: DataTree, path: string, data: Uint8Array, version: number, zxid: number, timeMs: number,
  events: TreeEvent[], asker: Asker, enforceQuota: boolean,
): OpResult | ZkError {
  const node = tree.get(path);
  if (!node) return zkError('NONODE', `${path} does not exist`, path);
  const noWrite = denied(node, PERM.WRITE, asker);
  if (noWrite) return noWrite;
  // ZooKeeper checks the quota before the version: a stale version past a hard limit is QUOTAEXCEEDED.
  const overQuota = checkQuota(tree, path, data.length - node.data.length, 0, enforceQuota);
  if (overQuota) return overQuota;
  const mismatch = versionMismatch(node, version);
  if (mismatch) return mismatch;
  tree.put(znodeWith(node, { data: compactBytes(data), version: node.version + 1, mzxid: zxid, mtime: timeMs }));
  quotaAfterSetData(tree, path, data.length - node.data.length);
  events.push({ type: 'NodeDataChanged', path, zxid, acl: node.acl });
  return { type: 'setData', path, stat: tree.stat(path)! };
}

/** setACL: ADMIN on the node, its aversion as the version; changes neither data nor mzxid, fires no watch. */
/** fixupAcl (INVALIDACL, `auth` expanded to the asker's identities), first among a create's or setACL's checks. */
function storedAcl(acl: Acl, asker: Asker, path: string): Acl | ZkError {
  return acl === OPEN_ACL ? acl : fixupAcl(acl, asker ?? [], path);
}

function setAcl(tree: DataTree, op: Extract<WriteOp, { type: 'setACL' }>, asker: Asker): OpResult | ZkError {
  const acl = storedAcl(op.acl, asker, op.path);
  if ('code' in acl) return acl;
  const node = tree.get(op.path);
  if (!node) return zkError('NONODE', `${op.path} does not exist`, op.path);
  const error = denied(node, PERM.ADMIN, asker) ?? versionMismatch(node, op.version, node.aversion, 'aversion');
  if (error) return error;
  tree.put(znodeWith(node, { acl: tree.acls.intern(acl), aversion: node.aversion + 1 }));
  return { type: 'setACL', path: op.path, stat: tree.stat(op.path)! };
}

/**
 * Server cleanup: removes a container that has had children and has none left, or a TTL node
 * unchanged for longer than its TTL with no children. The leader proposed it from its view;
 * apply re-checks, so a node recreated or changed in between is left alone.
 */
export function applyReap(
  tree: DataTree, path: string, czxid: number, zxid: number, timeMs: number, events: TreeEvent[],
): void {
  const node = tree.get(path);
  if (node && node.czxid === czxid && isReapable(tree, node, timeMs)) {
    deleteNode(tree, path, zxid, events);
  }
}

export function isReapable(tree: DataTree, node: Znode, nowMs: number): boolean {
  if (tree.numChildren(node.path) > 0) return false;
  if (node.kind === 'container') return node.creations > 0;
  if (node.kind === 'ttl') return nowMs - node.mtime > node.ttlMs;
  return false;
}

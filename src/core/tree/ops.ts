/**
 * The semantics of each write op, in ZooKeeper's order of checks (PrepRequestProcessor), so
 * that a request failing for two reasons reports the same code as ZooKeeper.
 */
import type { ZkError } from '../errors.ts';
import { assertNever, zkError } from '../errors.ts';
import type { DataTree } from './data-tree.ts';
import { parentOf, sequentialSuffix } from './path.ts';
import type { OpResult, TreeEvent } from './results.ts';
import type { WriteOp } from './txn.ts';
import { compactBytes } from './byte-slab.ts';
import { isSequential, kindOf, znodeWith, type Znode } from './znode.ts';

const UNDELETABLE = new Set(['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']);
const READ_ONLY = new Set(['/zookeeper/config']);

export function applyOp(
  tree: DataTree, op: WriteOp, sessionId: number, zxid: number, timeMs: number,
  events: TreeEvent[],
): OpResult | ZkError {
  switch (op.type) {
    case 'create':
      return create(tree, op, sessionId, zxid, timeMs, events);
    case 'delete':
      return remove(tree, op.path, op.version, zxid, events);
    case 'setData':
      return setData(tree, op.path, op.data, op.version, zxid, timeMs, events);
    case 'check': {
      const node = tree.get(op.path);
      if (!node) return zkError('NONODE', `${op.path} does not exist`, op.path);
      return versionMismatch(node, op.version) ?? { type: 'check', path: op.path };
    }
    default:
      return assertNever(op);
  }
}

function versionMismatch(node: Znode, version: number): ZkError | undefined {
  if (version === -1 || version === node.version) return undefined;
  return zkError('BADVERSION', `version ${version} does not match ${node.version}`, node.path);
}

function create(
  tree: DataTree, op: Extract<WriteOp, { type: 'create' }>, sessionId: number, zxid: number,
  timeMs: number, events: TreeEvent[],
): OpResult | ZkError {
  const sequential = isSequential(op.mode);
  if (op.path === '/' && !sequential) return zkError('NODEEXISTS', '/ already exists', '/');
  const parentPath = parentOf(op.path);
  const parent = tree.get(parentPath);
  if (!parent) return zkError('NONODE', `parent ${parentPath} does not exist`, op.path);
  // ZooKeeper's ACL on /zookeeper/config is read-only: no CREATE either.
  if (READ_ONLY.has(parentPath)) return zkError('NOAUTH', `${parentPath} is read-only`, op.path);
  const path = sequential ? op.path + sequentialSuffix(parent.creations) : op.path;
  if (tree.get(path)) return zkError('NODEEXISTS', `${path} already exists`, path);
  if (parent.kind === 'ephemeral') {
    return zkError('NOCHILDRENFOREPHEMERALS', `${parentPath} is ephemeral`, path);
  }
  const kind = kindOf(op.mode);
  tree.put({
    path, data: compactBytes(op.data), czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: timeMs, mtime: timeMs,
    version: 0, aversion: 0, creations: 0, kind,
    ephemeralOwner: kind === 'ephemeral' ? sessionId : 0,
    ttlMs: kind === 'ttl' ? op.ttlMs : 0,
  });
  tree.put(znodeWith(parent, { creations: parent.creations + 1, pzxid: zxid }));
  events.push({ type: 'NodeCreated', path, zxid });
  events.push({ type: 'NodeChildrenChanged', path: parentPath, zxid });
  return { type: 'create', path, stat: tree.stat(path)! };
}

function remove(
  tree: DataTree, path: string, version: number, zxid: number, events: TreeEvent[],
): OpResult | ZkError {
  if (UNDELETABLE.has(path)) return zkError('BADARGUMENTS', `${path} cannot be deleted`, path);
  const node = tree.get(path);
  if (!node) return zkError('NONODE', `${path} does not exist`, path);
  const mismatch = versionMismatch(node, version);
  if (mismatch) return mismatch;
  if (tree.numChildren(path) > 0) return zkError('NOTEMPTY', `${path} has children`, path);
  deleteNode(tree, path, zxid, events);
  return { type: 'delete', path };
}

function deleteNode(tree: DataTree, path: string, zxid: number, events: TreeEvent[]): void {
  tree.delete(path);
  const parentPath = parentOf(path);
  const parent = tree.get(parentPath)!;
  // Only move pzxid forward, as ZooKeeper does, so a replayed older txn cannot move it back.
  if (zxid > parent.pzxid) tree.put(znodeWith(parent, { pzxid: zxid }));
  events.push({ type: 'NodeDeleted', path, zxid });
  events.push({ type: 'NodeChildrenChanged', path: parentPath, zxid });
}

function setData(
  tree: DataTree, path: string, data: Uint8Array, version: number, zxid: number, timeMs: number,
  events: TreeEvent[],
): OpResult | ZkError {
  const node = tree.get(path);
  if (!node) return zkError('NONODE', `${path} does not exist`, path);
  if (READ_ONLY.has(path)) return zkError('NOAUTH', `${path} is read-only`, path);
  const mismatch = versionMismatch(node, version);
  if (mismatch) return mismatch;
  tree.put(znodeWith(node, { data: compactBytes(data), version: node.version + 1, mzxid: zxid, mtime: timeMs }));
  events.push({ type: 'NodeDataChanged', path, zxid });
  return { type: 'setData', path, stat: tree.stat(path)! };
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

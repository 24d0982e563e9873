// A tiny reference model of ZooKeeper's tree, written from /work/shared/ZK-SEMANTICS.md alone
// (it shares no code with src/core/tree): path → data, version, children, plus the zxids and
// what sequential names and reaping need. The property test runs it beside DataTree and demands
// that they agree.
import type { WriteOp } from '../../src/core/tree/txn.ts';

export interface ModelNode {
  readonly data: string; // hex
  readonly version: number;
  readonly children: ReadonlySet<string>;
  readonly creations: number;
  readonly mode: 'persistent' | 'ephemeral' | 'container' | 'ttl';
  readonly czxid: number;
  readonly mzxid: number;
  readonly pzxid: number;
  readonly mtime: number;
  readonly ttlMs: number;
}

export interface ModelEvent {
  readonly type: 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged' | 'NodeChildrenChanged';
  readonly path: string;
}

export type ModelResult =
  | { readonly ok: true; readonly paths: readonly string[]; readonly events: readonly ModelEvent[] }
  | { readonly ok: false; readonly failedOp: number; readonly code: string };

const SYSTEM = ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config'];

const parent = (path: string): string => path.slice(0, path.lastIndexOf('/')) || '/';
const leaf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const hex = (data: Uint8Array): string => Buffer.from(data).toString('hex');

function blank(mode: ModelNode['mode'], czxid: number, mtime: number, ttlMs = 0): ModelNode {
  return {
    data: '', version: 0, children: new Set(), creations: 0, mode, czxid, mzxid: czxid, pzxid: czxid, mtime, ttlMs,
  };
}

export class Model {
  readonly nodes: Map<string, ModelNode>;

  constructor(nodes?: Map<string, ModelNode>) {
    this.nodes = nodes ?? new Map(SYSTEM.map((path) => [path, blank('persistent', 0, 0)]));
    if (!nodes) {
      this.link('/', 'zookeeper');
      this.link('/zookeeper', 'quota');
      this.link('/zookeeper', 'config');
    }
  }

  /** Applies a client write all-or-nothing, as one transaction. */
  write(ops: readonly WriteOp[], zxid: number, timeMs: number): ModelResult {
    const scratch = new Model(new Map(this.nodes));
    const paths: string[] = [];
    const events: ModelEvent[] = [];
    for (let i = 0; i < ops.length; i++) {
      const outcome = scratch.op(ops[i]!, zxid, timeMs, events);
      if (outcome.startsWith('/')) paths.push(outcome);
      else return { ok: false, failedOp: i, code: outcome };
    }
    this.nodes.clear();
    for (const [path, node] of scratch.nodes) this.nodes.set(path, node);
    return { ok: true, paths, events };
  }

  /** Server cleanup; returns whether the node went. */
  reap(path: string, czxid: number, zxid: number, timeMs: number): boolean {
    const node = this.nodes.get(path);
    if (!node || node.czxid !== czxid || node.children.size > 0) return false;
    const due = node.mode === 'container' ? node.creations > 0
      : node.mode === 'ttl' ? timeMs - node.mtime > node.ttlMs : false;
    if (due) this.unlink(path, zxid);
    return due;
  }

  private op(op: WriteOp, zxid: number, timeMs: number, events: ModelEvent[]): string {
    if (op.type === 'create') return this.create(op, zxid, timeMs, events);
    if (op.type === 'setACL') throw new Error(`the tree model does not model ACLs: a step made a setACL of ${op.path}`);
    if (op.type === 'delete' && SYSTEM.includes(op.path)) return 'BADARGUMENTS';
    const node = this.nodes.get(op.path);
    if (!node) return 'NONODE';
    if (op.type === 'setData' && op.path === '/zookeeper/config') return 'NOAUTH';
    if (op.version !== -1 && op.version !== node.version) return 'BADVERSION';
    if (op.type === 'check') return op.path;
    if (op.type === 'setData') {
      const version = node.version + 1;
      this.nodes.set(op.path, { ...node, data: hex(op.data), version, mzxid: zxid, mtime: timeMs });
      events.push({ type: 'NodeDataChanged', path: op.path });
      return op.path;
    }
    if (node.children.size > 0) return 'NOTEMPTY';
    this.unlink(op.path, zxid);
    events.push({ type: 'NodeDeleted', path: op.path }, { type: 'NodeChildrenChanged', path: parent(op.path) });
    return op.path;
  }

  private create(
    op: Extract<WriteOp, { type: 'create' }>, zxid: number, timeMs: number, events: ModelEvent[],
  ): string {
    const parentPath = parent(op.path);
    const up = this.nodes.get(parentPath);
    if (!up) return 'NONODE';
    const path = op.mode.includes('sequential') ? op.path + String(up.creations).padStart(10, '0') : op.path;
    if (this.nodes.has(path)) return 'NODEEXISTS';
    if (up.mode === 'ephemeral') return 'NOCHILDRENFOREPHEMERALS';
    const mode = op.mode.startsWith('ephemeral') ? 'ephemeral'
      : op.mode === 'container' ? 'container' : op.mode.endsWith('_with_ttl') ? 'ttl' : 'persistent';
    this.nodes.set(path, { ...blank(mode, zxid, timeMs, op.ttlMs), data: hex(op.data) });
    this.nodes.set(parentPath, { ...up, creations: up.creations + 1, pzxid: zxid });
    this.link(parentPath, leaf(path));
    events.push({ type: 'NodeCreated', path }, { type: 'NodeChildrenChanged', path: parentPath });
    return path;
  }

  private link(parentPath: string, name: string): void {
    const up = this.nodes.get(parentPath)!;
    this.nodes.set(parentPath, { ...up, children: new Set([...up.children, name]) });
  }

  private unlink(path: string, zxid: number): void {
    this.nodes.delete(path);
    const up = this.nodes.get(parent(path))!;
    const children = new Set(up.children);
    children.delete(leaf(path));
    this.nodes.set(parent(path), { ...up, children, pzxid: zxid });
  }
}

// Checks a DataTree against its structural invariants, against the reference model, and against
// a tree recovered from it. Each throws (via expect) naming the path that breaks the rule.
import { expect } from 'vitest';
import { DataTree, SYSTEM_PATHS } from '../../src/core/tree/data-tree.ts';
import type { Znode } from '../../src/core/tree/znode.ts';
import type { Model } from './model.ts';

const parentOf = (path: string): string => path.slice(0, path.lastIndexOf('/')) || '/';
const nameOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const SYSTEM: readonly string[] = SYSTEM_PATHS;

/** Every path in the tree, sorted. */
export function pathsOf(tree: DataTree): string[] {
  return tree.snapshot().map((node) => node.path).sort();
}

/** The child names of every path, computed from the node list alone. */
function childrenFromNodes(paths: readonly string[]): Map<string, string[]> {
  const children = new Map<string, string[]>(paths.map((path) => [path, []]));
  for (const path of paths) {
    if (path !== '/') children.get(parentOf(path))?.push(nameOf(path));
  }
  for (const names of children.values()) names.sort();
  return children;
}

/** Collects the broken rules of one node into `problems`. */
function checkNode(tree: DataTree, node: Znode, names: readonly string[], problems: string[]): void {
  const { path } = node;
  const stat = tree.stat(path)!;
  const fail = (rule: string, actual: unknown): void => {
    problems.push(`${path}: ${rule} (got ${JSON.stringify(actual)})`);
  };
  if (path !== '/' && !tree.get(parentOf(path))) fail('has a parent (no orphans)', parentOf(path));
  if (tree.numChildren(path) !== names.length) fail(`numChildren = ${names.length}`, tree.numChildren(path));
  if (stat.numChildren !== names.length) fail(`stat.numChildren = ${names.length}`, stat.numChildren);
  if (tree.childNames(path).join('/') !== names.join('/')) fail(`childNames = ${names}`, tree.childNames(path));
  if (stat.cversion !== 2 * node.creations - names.length) {
    fail('cversion = 2×creations − numChildren', stat.cversion);
  }
  if (!SYSTEM.includes(path) && node.creations < names.length) fail('creations ≥ numChildren', node.creations);
  if (!SYSTEM.includes(path) && stat.czxid <= 0) fail('czxid > 0', stat.czxid);
  if (stat.pzxid < stat.czxid) fail('pzxid ≥ czxid', stat);
  if (stat.mzxid < stat.czxid) fail('mzxid ≥ czxid', stat);
  if (Math.max(stat.pzxid, stat.mzxid) > tree.appliedZxid) fail('zxids ≤ appliedZxid', stat);
  if (stat.dataLength !== node.data.length) fail('dataLength = data.length', stat.dataLength);
  if (stat.version < 0) fail('version ≥ 0', stat.version);
  if (node.kind === 'ephemeral' && names.length > 0) fail('an ephemeral has no children', names);
  if ((stat.ephemeralOwner !== 0) !== (node.kind === 'ephemeral')) fail('ephemeralOwner ≠ 0 iff ephemeral', stat);
  if ((node.ttlMs > 0) !== (node.kind === 'ttl')) fail('ttlMs > 0 iff TTL', node.ttlMs);
}

export function checkInvariants(tree: DataTree): void {
  const snapshot = tree.snapshot();
  const paths = snapshot.map((node) => node.path);
  const problems: string[] = [];
  if (new Set(paths).size !== paths.length) problems.push('duplicate paths in the snapshot');
  if (tree.size !== paths.length) problems.push(`size ${tree.size} ≠ ${paths.length} nodes`);
  for (const path of SYSTEM) if (!tree.get(path)) problems.push(`system node ${path} missing`);
  const children = childrenFromNodes(paths);
  for (const node of snapshot) checkNode(tree, node, children.get(node.path)!, problems);
  const reapable = snapshot.filter((n) => n.kind === 'container' || n.kind === 'ttl').map((n) => n.path);
  if ([...tree.reapCandidates()].sort().join() !== reapable.sort().join()) problems.push('reap candidates');
  expect(problems, 'tree invariants').toEqual([]);
}

/** The tree and the model agree on which nodes exist and on their data, version and children. */
export function checkAgainstModel(tree: DataTree, model: Model): void {
  const modelPaths = [...model.nodes.keys()].sort();
  expect(pathsOf(tree), 'the same nodes exist').toEqual(modelPaths);
  const problems: string[] = [];
  for (const path of modelPaths) {
    const expected = model.nodes.get(path)!;
    const node = tree.get(path)!;
    const actual = {
      data: Buffer.from(node.data).toString('hex'), version: node.version,
      children: tree.childNames(path).join('/'), creations: node.creations,
      zxids: [node.czxid, node.mzxid, node.pzxid], mtime: node.mtime,
    };
    const wanted = {
      data: expected.data, version: expected.version,
      children: [...expected.children].sort().join('/'), creations: expected.creations,
      zxids: [expected.czxid, expected.mzxid, expected.pzxid], mtime: expected.mtime,
    };
    if (JSON.stringify(actual) !== JSON.stringify(wanted)) {
      problems.push(`${path}: tree ${JSON.stringify(actual)} ≠ model ${JSON.stringify(wanted)}`);
    }
  }
  expect(problems, 'tree agrees with the model').toEqual([]);
}

/** A tree rebuilt from `tree`'s snapshot answers every read as `tree` does. */
export function checkRecovered(tree: DataTree, recovered: DataTree): void {
  expect(recovered.appliedZxid).toBe(tree.appliedZxid);
  expect(pathsOf(recovered)).toEqual(pathsOf(tree));
  for (const path of pathsOf(tree)) {
    expect(recovered.stat(path), `stat of ${path} after recovery`).toEqual(tree.stat(path));
    expect(recovered.childNames(path), `children of ${path} after recovery`).toEqual(tree.childNames(path));
    expect(recovered.get(path)?.data).toEqual(tree.get(path)?.data);
  }
  expect([...recovered.reapCandidates()].sort()).toEqual([...tree.reapCandidates()].sort());
}

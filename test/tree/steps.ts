// Random steps for the property test: client writes (single ops and multis of 1–4 ops) and
// server reaps over a small path universe (fixed paths plus children of existing nodes). A step
// is abstract (indexes, "the correct version"); resolve() turns it into a concrete transaction
// against the tree as it stands.
import fc from 'fast-check';
import { OPEN_ACL } from '../../src/core/acl/acl.ts';
import type { DataTree } from '../../src/core/tree/data-tree.ts';
import type { Txn, WriteOp } from '../../src/core/tree/txn.ts';
import type { CreateMode } from '../../src/core/tree/znode.ts';
import { bytes } from './helpers.ts';
import { pathsOf } from './invariants.ts';

/**
 * Paths a create may name. Those ending in "/" or "-" are meant for sequential modes. Left out,
 * as known divergences with their own unit tests: a sequential create of "/" and a create under
 * /zookeeper/config.
 */
export const CREATE_PATHS = [
  '/a', '/b', '/a/x', '/a/y', '/b/x', '/a/x/z', '/a/s-', '/b/', '/a/x/', '/zookeeper/q', '/c',
] as const;

/** Paths setData, delete and check may name besides the existing ones: some never exist. */
export const OTHER_PATHS = ['/a', '/a/x', '/b/x', '/missing', '/a/missing', '/', '/zookeeper/config'];

export const SESSIONS = [1, 2] as const;

type Pick = { readonly existing: boolean; readonly index: number };
type VersionPick = { readonly correct: true } | { readonly correct: false; readonly version: number };

/** A create names a path of CREATE_PATHS, or a child `name` of an existing node. */
type CreateAt = { readonly index: number; readonly under: boolean; readonly name: string };

export type OpSpec =
  | {
      readonly type: 'create'; readonly at: CreateAt; readonly mode: CreateMode;
      readonly data: string; readonly ttlMs: number;
    }
  | { readonly type: 'setData'; readonly pick: Pick; readonly data: string; readonly version: VersionPick }
  | { readonly type: 'delete' | 'check'; readonly pick: Pick; readonly version: VersionPick };

export type Step =
  | { readonly type: 'write'; readonly ops: readonly OpSpec[]; readonly session: number; readonly dt: number }
  | { readonly type: 'reap'; readonly index: number; readonly stale: boolean; readonly dt: number };

const MODES: readonly CreateMode[] = [
  'persistent', 'persistent_sequential', 'container', 'persistent_with_ttl',
  'persistent_sequential_with_ttl', 'ephemeral', 'ephemeral_sequential',
];

const pick = fc.record({
  existing: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
  index: fc.nat(63),
});
const data = fc.constantFrom('', 'x', 'yy', 'zzz');
const version: fc.Arbitrary<VersionPick> = fc.oneof(
  { arbitrary: fc.constant({ correct: true as const }), weight: 4 },
  { arbitrary: fc.integer({ min: -1, max: 3 }).map((v) => ({ correct: false as const, version: v })), weight: 1 },
);

const createAt: fc.Arbitrary<CreateAt> = fc.record({
  index: fc.nat(63), under: fc.boolean(), name: fc.constantFrom('n', 'm', 's-', ''),
});

const createSpec: fc.Arbitrary<OpSpec> = fc
  .record({ at: createAt, mode: fc.constantFrom(...MODES), data, ttl: fc.integer({ min: 1, max: 25 }) })
  .map(({ at, mode, data: d, ttl }) => ({
    type: 'create' as const, at, mode, data: d, ttlMs: mode.endsWith('_with_ttl') ? ttl : -1,
  }));

const opSpec: fc.Arbitrary<OpSpec> = fc.oneof(
  { arbitrary: createSpec, weight: 5 },
  { arbitrary: fc.record({ type: fc.constant('setData' as const), pick, data, version }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('delete' as const), pick, version }), weight: 3 },
  { arbitrary: fc.record({ type: fc.constant('check' as const), pick, version }), weight: 1 },
);

export const step: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      type: fc.constant('write' as const),
      ops: fc.oneof({ arbitrary: fc.array(opSpec, { minLength: 1, maxLength: 1 }), weight: 3 },
        { arbitrary: fc.array(opSpec, { minLength: 1, maxLength: 4 }), weight: 2 }),
      session: fc.constantFrom(...SESSIONS),
      dt: fc.integer({ min: 0, max: 20 }),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      type: fc.constant('reap' as const), index: fc.nat(15), stale: fc.boolean(),
      dt: fc.integer({ min: 0, max: 30 }),
    }),
    weight: 2,
  },
);

/** Existing nodes other than the system ones, sorted. */
function userPaths(tree: DataTree): string[] {
  return pathsOf(tree).filter((path) => path !== '/' && !path.startsWith('/zookeeper'));
}

function pathFor(tree: DataTree, choice: Pick): string {
  const existing = choice.existing ? userPaths(tree) : [];
  const list = existing.length > 0 ? existing : OTHER_PATHS;
  return list[choice.index % list.length]!;
}

function versionFor(tree: DataTree, path: string, choice: VersionPick): number {
  return choice.correct ? (tree.get(path)?.version ?? 0) : choice.version;
}

function resolveOp(tree: DataTree, spec: OpSpec): WriteOp {
  if (spec.type === 'create') {
    const sequential = spec.mode.includes('sequential');
    const parents = spec.at.under ? userPaths(tree) : [];
    const requested = parents.length > 0
      ? `${parents[spec.at.index % parents.length]!}/${spec.at.name || (sequential ? '' : 'n')}`
      : CREATE_PATHS[spec.at.index % CREATE_PATHS.length]!;
    // A path ending in "/" is valid only for a sequential create; otherwise drop the slash.
    const path = !sequential && requested.endsWith('/') ? requested.slice(0, -1) : requested;
    return { type: 'create', path, data: bytes(spec.data), mode: spec.mode, ttlMs: spec.ttlMs, acl: OPEN_ACL };
  }
  const path = pathFor(tree, spec.pick);
  const v = versionFor(tree, path, spec.version);
  if (spec.type === 'setData') return { type: 'setData', path, data: bytes(spec.data), version: v };
  return { type: spec.type, path, version: v };
}

/** The concrete transaction for `s` against `tree` as it stands (versions read before the txn). */
export function resolve(tree: DataTree, s: Step): Txn {
  if (s.type === 'write') {
    const ops = s.ops.map((spec) => resolveOp(tree, spec));
    return { type: 'write', ops, multi: ops.length > 1, sessionId: s.session, auth: [] };
  }
  const candidates = [...tree.reapCandidates()].sort();
  if (candidates.length === 0) return { type: 'reap', path: OTHER_PATHS[s.index % OTHER_PATHS.length]!, czxid: 0 };
  const path = candidates[s.index % candidates.length]!;
  const czxid = tree.get(path)!.czxid;
  return { type: 'reap', path, czxid: s.stale ? czxid - 1 : czxid };
}

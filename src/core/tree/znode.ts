/**
 * Znode records and their Stat. A record is immutable: apply() replaces it rather than mutating
 * it, so a checkpoint can capture the whole tree by copying references while writes go on.
 */
import type { Acl } from '../acl/acl.ts';

export type CreateMode =
  | 'persistent'
  | 'ephemeral'
  | 'persistent_sequential'
  | 'ephemeral_sequential'
  | 'container'
  | 'persistent_with_ttl'
  | 'persistent_sequential_with_ttl';

export const CREATE_MODES: readonly CreateMode[] = [
  'persistent',
  'ephemeral',
  'persistent_sequential',
  'ephemeral_sequential',
  'container',
  'persistent_with_ttl',
  'persistent_sequential_with_ttl',
];

/** How the server treats a node over its life (the mode minus "sequential"). */
export type NodeKind = 'persistent' | 'ephemeral' | 'container' | 'ttl';

export function isSequential(mode: CreateMode): boolean {
  return mode.includes('sequential');
}

export function kindOf(mode: CreateMode): NodeKind {
  if (mode === 'ephemeral' || mode === 'ephemeral_sequential') return 'ephemeral';
  if (mode === 'container') return 'container';
  if (mode.endsWith('_with_ttl')) return 'ttl';
  return 'persistent';
}

/** The ttl of a create that gave none (ZooKeeper's -1). */
export const NO_TTL = -1;

/** ZooKeeper's TTL bound (EphemeralType.TTL's max value: 40 bits of milliseconds). */
export const TTL_MS_MAX = 0xff_ffff_ffff;

export interface Znode {
  readonly path: string;
  readonly data: Uint8Array;
  readonly czxid: number;
  readonly mzxid: number;
  readonly pzxid: number;
  readonly ctime: number;
  readonly mtime: number;
  readonly version: number;
  readonly aversion: number;
  /** Child creations ever (ZooKeeper's stored cversion); the sequential counter. */
  readonly creations: number;
  readonly kind: NodeKind;
  /** Owning session for ephemerals, else 0. */
  readonly ephemeralOwner: number;
  /** For TTL nodes, else 0. */
  readonly ttlMs: number;
  /** Who may do what with the node (interned: see AclCache). */
  readonly acl: Acl;
}

export interface Stat {
  readonly czxid: number;
  readonly mzxid: number;
  readonly pzxid: number;
  readonly ctime: number;
  readonly mtime: number;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: number;
  readonly dataLength: number;
  readonly numChildren: number;
}

/**
 * A record with every field but the given ones from `node`. Written out, not spread: a spread of
 * a 14-field record was the costliest line of a setData's apply in profiles, and one literal keeps
 * every record in one shape.
 */
export function znodeWith(
  node: Znode, changes: Partial<Pick<Znode, 'data' | 'mzxid' | 'pzxid' | 'mtime' | 'version' | 'creations' | 'aversion' | 'acl'>>,
): Znode {
  return {
    path: node.path,
    data: changes.data ?? node.data,
    czxid: node.czxid,
    mzxid: changes.mzxid ?? node.mzxid,
    pzxid: changes.pzxid ?? node.pzxid,
    ctime: node.ctime,
    mtime: changes.mtime ?? node.mtime,
    version: changes.version ?? node.version,
    aversion: changes.aversion ?? node.aversion,
    creations: changes.creations ?? node.creations,
    kind: node.kind,
    ephemeralOwner: node.ephemeralOwner,
    ttlMs: node.ttlMs,
    acl: changes.acl ?? node.acl,
  };
}

/**
 * The Stat clients see. ZooKeeper stores the creation count and reports
 * cversion = 2 × creations − numChildren (each present child is one change, each deleted one two).
 */
export function statOf(node: Znode, numChildren: number): Stat {
  return {
    czxid: node.czxid,
    mzxid: node.mzxid,
    pzxid: node.pzxid,
    ctime: node.ctime,
    mtime: node.mtime,
    version: node.version,
    cversion: node.creations * 2 - numChildren,
    aversion: node.aversion,
    ephemeralOwner: node.ephemeralOwner,
    dataLength: node.data.length,
    numChildren,
  };
}

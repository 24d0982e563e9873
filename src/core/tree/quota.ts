/**
 * ZooKeeper's quotas as replicated state (DataTree's pTrie, updateQuotaStat, updateQuotaForPath
 * and ZooKeeperServer.checkQuota). A quota root `/p` exists while `/zookeeper/quota/p/zookeeper_limits`
 * exists, recognised by name alone; `/zookeeper/quota/p/zookeeper_stats` holds `count=N,bytes=M`
 * for it. Every create, delete and setData updates the stats of the deepest quota root above or at
 * its path (never an outer one), in place: the stats node keeps its version and mzxid.
 *
 * Everything here runs at apply and reads only the tree and the txn, so every replica computes the
 * same stats and the same verdicts. Two consequences differ from ZooKeeper, on purpose:
 * - ZooKeeper checks a write against its committed tree (PrepRequestProcessor), so the earlier ops of
 *   the same multi are not counted; here they are, as the check runs when the op applies.
 * - ZooKeeper recomputes every stats node when it loads a snapshot (setupQuota); here a tree built
 *   from a checkpoint keeps the stats it holds, or a member that restarted would disagree with the
 *   others (with nested quotas, incremental and recomputed stats differ, in ZooKeeper too).
 */
import { zkError, type ZkError } from '../errors.ts';
import type { DataTree } from './data-tree.ts';
import {
  BYTE_HARD_LIMIT, BYTES, COUNT, COUNT_HARD_LIMIT, parseStatsBytes, statsBytes, statValue, type StatsTrack,
} from './quota-stats.ts';
import { znodeWith } from './znode.ts';

export const QUOTA_DIR = '/zookeeper/quota';
const QUOTA_PREFIX = QUOTA_DIR + '/';
const LIMITS_SUFFIX = '/zookeeper_limits';
const STATS_SUFFIX = '/zookeeper_stats';
/** 'z', the second character of every /zookeeper path: a write elsewhere pays one comparison. */
const Z = 0x7a;

const statsPath = (root: string): string => QUOTA_DIR + root + STATS_SUFFIX;

/**
 * A quota root and the paths of its nodes, made once: a path built per write would be hashed per
 * lookup (a rope is flattened and hashed each time; a kept string caches its hash).
 */
export interface QuotaRoot {
  /** `/p` */
  readonly path: string;
  /** `/zookeeper/quota/p/zookeeper_limits` */
  readonly limits: string;
  /** `/zookeeper/quota/p/zookeeper_stats` */
  readonly stats: string;
}

/**
 * The quota root a limits node's path declares, else undefined. `/zookeeper/quota/zookeeper_limits`
 * would declare `/`, which ZooKeeper never tracks (getMaxPrefixWithQuota skips it). ZooKeeper tests
 * the parent with startsWith("/zookeeper/quota"), so `/zookeeper/quotaX/...` also passes there; a
 * root is taken only from `/zookeeper/quota/...` here.
 */
export function quotaRootOf(limitsPath: string): QuotaRoot | undefined {
  if (limitsPath.charCodeAt(1) !== Z || !limitsPath.endsWith(LIMITS_SUFFIX) || !limitsPath.startsWith(QUOTA_PREFIX)) return undefined;
  const root = limitsPath.slice(QUOTA_DIR.length, -LIMITS_SUFFIX.length);
  if (root === '') return undefined;
  return { path: root, limits: limitsPath, stats: statsPath(root) };
}

/** The path whose subtree a stats node's creation counts ('' stands for `/`, as in ZooKeeper), else undefined. */
function statsTarget(path: string): string | undefined {
  if (path.charCodeAt(1) !== Z || !path.endsWith(STATS_SUFFIX) || !path.startsWith(QUOTA_PREFIX)) return undefined;
  return path.slice(QUOTA_DIR.length, -STATS_SUFFIX.length);
}

/** After a create of `path` with `bytes` of data (DataTree.createNode's order: recompute, then update). */
export function quotaAfterCreate(tree: DataTree, path: string, bytes: number): void {
  const target = statsTarget(path);
  if (target !== undefined) recomputeStats(tree, target);
  updateDeepest(tree, path, bytes, 1);
}

/** After a delete of `path`, which held `bytes` of data (the limits node's root is already gone). */
export function quotaAfterDelete(tree: DataTree, path: string, bytes: number): void {
  updateDeepest(tree, path, -bytes, -1);
}

/** After a setData of `path` that changed its size by `bytesDiff`. */
export function quotaAfterSetData(tree: DataTree, path: string, bytesDiff: number): void {
  updateDeepest(tree, path, bytesDiff, 0);
}

function updateDeepest(tree: DataTree, path: string, bytesDiff: number, countDiff: number): void {
  const root = tree.deepestQuotaRoot(path);
  if (root !== undefined) updateStats(tree, root, bytesDiff, countDiff);
}

/**
 * updateQuotaStat: parse, add, write back (other keys kept, StatsTrack's format). A missing stats
 * node is skipped (ZooKeeper logs an error). An unparseable one is left as it is: ZooKeeper's
 * StatsTrack would throw inside the apply, which no replica here may do.
 */
function updateStats(tree: DataTree, root: QuotaRoot, bytesDiff: number, countDiff: number): void {
  const node = tree.get(root.stats);
  const current = node && parseStatsBytes(node.data);
  if (!current) return;
  // A copy: the parse is shared (cached by data array) and must stay as it was.
  const stats = new Map(current);
  stats.set(COUNT, statValue(current, COUNT) + countDiff);
  stats.set(BYTES, statValue(current, BYTES) + bytesDiff);
  // put() keeps the record's Stat (version, mzxid) and records the undo, so a failed multi restores it.
  tree.put(znodeWith(node, { data: statsBytes(stats) }));
}

/** updateQuotaForPath: the stats node of `target` becomes the real subtree's count (itself included) and bytes. */
function recomputeStats(tree: DataTree, target: string): void {
  const node = tree.get(statsPath(target));
  if (!node) return;
  const { count, bytes } = tree.subtreeTotals(target === '' ? '/' : target);
  tree.put(znodeWith(node, { data: statsBytes(new Map([[COUNT, count], [BYTES, bytes]])) }));
}

/**
 * checkQuota for a create (countDiff 1) or setData (countDiff 0) of `path`, before it applies: each
 * limit passed (the hard one if set, else the soft one; exceeded when current + diff > limit) is
 * noted on the tree for the node to log, and a hard one refuses the write when the leader stamped
 * `enforce`. Count is checked before bytes and a refusal stops there, as in ZooKeeper. Limits that
 * do not parse mean no limit: ZooKeeper's StatsTrack would throw, which it answers with
 * MARSHALLINGERROR; a quota nobody can read is better ignored than made to fail every write below it.
 * A missing limits or stats node allows the write, as in ZooKeeper.
 */
export function checkQuota(
  tree: DataTree, path: string, bytesDiff: number, countDiff: number, enforce: boolean,
): ZkError | undefined {
  const root = tree.deepestQuotaRoot(path);
  if (root === undefined) return undefined;
  const limitsNode = tree.get(root.limits);
  const limits = limitsNode && parseStatsBytes(limitsNode.data);
  if (!limits) return undefined;
  const checkCount = countDiff !== 0 && (statValue(limits, COUNT) > -1 || statValue(limits, COUNT_HARD_LIMIT) > -1);
  const checkBytes = bytesDiff !== 0 && (statValue(limits, BYTES) > -1 || statValue(limits, BYTE_HARD_LIMIT) > -1);
  if (!checkCount && !checkBytes) return undefined;
  const statsNode = tree.get(root.stats);
  const stats = statsNode && parseStatsBytes(statsNode.data);
  if (!stats) return undefined;
  return (checkCount ? overLimit(tree, path, root, 'count', statValue(stats, COUNT) + countDiff, limits, enforce) : undefined)
    ?? (checkBytes ? overLimit(tree, path, root, 'bytes', statValue(stats, BYTES) + bytesDiff, limits, enforce) : undefined);
}

/** Notes `value` if it passes the limit of its kind; QUOTAEXCEEDED if that limit is a hard one and enforced. */
function overLimit(
  tree: DataTree, path: string, { path: root }: QuotaRoot, what: 'count' | 'bytes', value: number, limits: StatsTrack, enforce: boolean,
): ZkError | undefined {
  const hardLimit = statValue(limits, what === 'count' ? COUNT_HARD_LIMIT : BYTE_HARD_LIMIT);
  const hard = hardLimit > -1;
  const limit = hard ? hardLimit : statValue(limits, what === 'count' ? COUNT : BYTES);
  if (value <= limit) return undefined;
  const refused = hard && enforce;
  tree.noteQuotaExceeded({ root, what, value, limit, hard, refused });
  if (!refused) return undefined;
  return zkError('QUOTAEXCEEDED', `${what} quota of ${root} exceeded: ${what}=${value}, hard limit ${limit}`, path);
}

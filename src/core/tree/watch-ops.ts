/**
 * Applying a watch transaction: a watched read reads the tree and sets its one-shot watch in
 * the same step (so no change can slip between them, on any replica), addWatch sets a persistent
 * one, removeWatches removes and announces. A watched read is refused (and sets no watch) without
 * READ, checked here with the txn's identities as reads check it (readDenied); addWatch needs no
 * permission, as in ZooKeeper 3.9: what any watch delivers is filtered by READ instead (see
 * WatchRegistry.route). Deterministic; errors are results, never throws.
 */
import { PERM } from '../acl/acl.ts';
import { zkError, type ZkError } from '../errors.ts';
import { denied } from './ops.ts';
import type { Delivery, WatchRegistry } from '../watch/watch-registry.ts';
import type { WatchResult } from './results.ts';
import type { WatchRequest } from './txn.ts';
import type { Stat, Znode } from './znode.ts';

/** The parts of the tree a watch transaction reads. */
export interface WatchedTree {
  get(path: string): Znode | undefined;
  stat(path: string): Stat | undefined;
  childNames(path: string): string[];
}

export function applyWatchRequest(
  tree: WatchedTree, watches: WatchRegistry, sessionId: number, request: WatchRequest, zxid: number, deliveries: Delivery[],
  auth: readonly string[],
): WatchResult {
  const { path } = request;
  if (request.op !== 'removeWatches' && request.op !== 'addWatch') {
    const error = readDenied(tree.get(path), request.op, auth);
    if (error) return { ok: false, watch: true, error };
  }
  const stat = tree.stat(path);
  switch (request.op) {
    case 'exists':
      // exists sets its watch whether or not the node is there: it fires on creation.
      watches.addOneShot(sessionId, path, 'data');
      return stat ? { ok: true, watch: true, stat } : { ok: false, watch: true, error: zkError('NONODE', `${path} does not exist`, path) };
    case 'getData':
      if (!stat) return { ok: false, watch: true, error: zkError('NONODE', `${path} does not exist`, path) };
      watches.addOneShot(sessionId, path, 'data');
      return { ok: true, watch: true, stat, data: tree.get(path)!.data };
    case 'getChildren':
      if (!stat) return { ok: false, watch: true, error: zkError('NONODE', `${path} does not exist`, path) };
      watches.addOneShot(sessionId, path, 'child');
      return { ok: true, watch: true, stat, children: tree.childNames(path) };
    case 'addWatch':
      watches.addPersistent(sessionId, path, request.mode);
      return { ok: true, watch: true };
    case 'removeWatches': {
      const removed = watches.remove(sessionId, path, request.watchType);
      if (!removed) return { ok: false, watch: true, error: zkError('NOWATCHER', `no ${request.watchType} watch on ${path}`, path) };
      for (const type of removed) deliveries.push({ sessionId, event: { type, path, zxid } });
      return { ok: true, watch: true };
    }
  }
}

/**
 * The ACL rule of a read (ZooKeeper 3.9's FinalRequestProcessor): getData and getChildren need
 * READ on the node, and so does exists when the node exists (since 3.9.2; a missing node has no
 * ACL to ask). NOAUTH, or undefined when allowed.
 */
export function readDenied(node: Znode | undefined, op: 'getData' | 'getChildren' | 'exists', auth: readonly string[]): ZkError | undefined {
  if (node === undefined) return undefined;
  return denied(node, PERM.READ, auth);
}

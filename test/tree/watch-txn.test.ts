/**
 * Watches as replicated state: watch transactions set and remove them, applying a change routes
 * its events to the sessions whose watches match (consuming one-shot ones), and all of it is
 * part of the tree's state that a checkpoint carries.
 */
import { describe, expect, it } from 'vitest';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import type { WatchRequest } from '../../src/core/tree/txn.ts';
import { createOp, deleteOp, Harness, setDataOp, TEST_SESSIONS } from './helpers.ts';

const watch = (h: Harness, sessionId: number, request: WatchRequest) => h.applyTxn({ type: 'watch', sessionId, request, auth: [] });
const delivered = (output: { deliveries?: readonly { sessionId: number; event: { type: string; path: string } }[] }) =>
  (output.deliveries ?? []).map((d) => `${d.sessionId}:${d.event.type} ${d.event.path}`);

describe('watch transactions', () => {
  it('reads as of the transaction and sets the watch in the same step (getData)', () => {
    const h = new Harness();
    h.ok(createOp('/a', 'persistent', 'v1'));
    const out = watch(h, 1, { op: 'getData', path: '/a' });
    expect(out.result).toMatchObject({ ok: true, watch: true, stat: { version: 0 } });
    expect(new TextDecoder().decode((out.result as { data: Uint8Array }).data)).toBe('v1');
    expect(delivered(h.write([setDataOp('/a', 'v2')]))).toEqual(['1:NodeDataChanged /a']);
    expect(delivered(h.write([setDataOp('/a', 'v3')])), 'a one-shot watch fires once').toEqual([]);
  });

  it('answers NONODE for getData and getChildren on a missing node and sets no watch', () => {
    const h = new Harness();
    expect(watch(h, 1, { op: 'getData', path: '/x' }).result).toMatchObject({ ok: false, error: { code: 'NONODE' } });
    expect(watch(h, 1, { op: 'getChildren', path: '/x' }).result).toMatchObject({ ok: false, error: { code: 'NONODE' } });
    expect(h.tree.watches.count(1)).toBe(0);
  });

  it('sets an exists watch on a missing node, which fires on its creation', () => {
    const h = new Harness();
    expect(watch(h, 2, { op: 'exists', path: '/later' }).result).toMatchObject({ ok: false, error: { code: 'NONODE' } });
    expect(delivered(h.write([createOp('/later')]))).toEqual(['2:NodeCreated /later']);
  });

  it('routes a change to every matching session in session-id order, one copy each', () => {
    const h = new Harness();
    h.ok(createOp('/p'));
    for (const id of [3, 1, 2]) watch(h, id, { op: 'getChildren', path: '/p' });
    watch(h, 1, { op: 'addWatch', path: '/', mode: 'persistent_recursive' });
    expect(delivered(h.write([createOp('/p/c')]))).toEqual([
      '1:NodeCreated /p/c', '1:NodeChildrenChanged /p', '2:NodeChildrenChanged /p', '3:NodeChildrenChanged /p',
    ]);
  });

  it('removes watches with an event on the session\'s own stream, or answers NOWATCHER', () => {
    const h = new Harness();
    h.ok(createOp('/r'));
    watch(h, 4, { op: 'getData', path: '/r' });
    const removed = watch(h, 4, { op: 'removeWatches', path: '/r', watchType: 'any' });
    expect(removed.result).toEqual({ ok: true, watch: true });
    expect(delivered(removed)).toEqual(['4:DataWatchRemoved /r']);
    expect(watch(h, 4, { op: 'removeWatches', path: '/r', watchType: 'any' }).result).toMatchObject({ ok: false, error: { code: 'NOWATCHER' } });
  });

  it('answers SESSIONEXPIRED for a session that is not open', () => {
    const h = new Harness();
    expect(watch(h, 42, { op: 'exists', path: '/' }).result).toMatchObject({ ok: false, error: { code: 'SESSIONEXPIRED' } });
  });

  it('drops a session\'s watches when it closes, after they fired on its own ephemerals', () => {
    const h = new Harness();
    h.ok(createOp('/e', 'ephemeral'), { sessionId: 5 });
    watch(h, 5, { op: 'exists', path: '/e' });
    watch(h, 6, { op: 'exists', path: '/e' });
    watch(h, 5, { op: 'addWatch', path: '/', mode: 'persistent' });
    const closed = h.applyTxn({ type: 'closeSession', sessionId: 5, reason: 'closed' });
    expect(delivered(closed)).toEqual(['5:NodeDeleted /e', '6:NodeDeleted /e', '5:NodeChildrenChanged /']);
    expect(h.tree.watches.count(5)).toBe(0);
  });

  it('keeps watches in the tree\'s state: a tree rebuilt from a checkpoint routes alike', () => {
    const h = new Harness();
    h.ok(createOp('/k'));
    watch(h, 7, { op: 'getData', path: '/k' });
    watch(h, 8, { op: 'addWatch', path: '/k', mode: 'persistent' });
    const copy = new Harness(new DataTree(h.tree.snapshot(), h.tree.appliedZxid, TEST_SESSIONS, h.tree.watches.all()));
    expect(delivered(copy.write([deleteOp('/k')]))).toEqual(delivered(h.write([deleteOp('/k')])));
    expect(copy.tree.watches.all()).toEqual(h.tree.watches.all());
  });
});

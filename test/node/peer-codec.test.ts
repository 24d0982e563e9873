/** Raft messages on the wire between members: what goes out comes back the same; odd shapes are dropped. */
import { describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import { decodePeerMessage, decodeSessionTouch, encodePeerMessage } from '../../src/node/peer-codec.ts';
import type { CheckpointImage } from '../../src/node/checkpoints.ts';

const wire = (m: RaftMessage) => JSON.parse(JSON.stringify(encodePeerMessage(m))) as unknown;

describe('peer codec', () => {
  it('carries an append with its entries unchanged', () => {
    const m: RaftMessage = { type: 'MsgApp', from: 1, to: 2, term: 3, prevIndex: 4, prevTerm: 3, commit: 4, entries: [{ term: 3, index: 5, data: '{"x":1}' }] };
    expect(decodePeerMessage(wire(m))).toEqual(m);
  });

  it('carries a checkpoint with binary node data, its sessions and its watches', () => {
    const checkpoint: CheckpointImage = {
      index: 9, term: 2, zxid: 2 * 2 ** 32 + 9,
      nodes: [{ path: '/a', data: new Uint8Array([0, 255, 7]), czxid: 1, mzxid: 2, pzxid: 3, ctime: 4, mtime: 5, version: 6, aversion: 0, creations: 0, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0 }],
      sessions: [{ id: 8, timeoutMs: 4000, tokenHash: 'ab' }],
      watches: [{ sessionId: 8, kind: 'data', path: '/a' }],
    };
    const m: RaftMessage = { type: 'MsgSnap', from: 1, to: 3, term: 2, snapshotIndex: 9, snapshotTerm: 2, checkpoint };
    const back = decodePeerMessage(wire(m)) as RaftMessage & { checkpoint: CheckpointImage };
    expect(back.checkpoint.nodes[0]!.data).toEqual(new Uint8Array([0, 255, 7]));
    expect(back.checkpoint.sessions).toEqual(checkpoint.sessions);
    expect(back.checkpoint.watches).toEqual(checkpoint.watches);
  });

  it.each([
    ['not an object', 'MsgApp'],
    ['an unknown type', { type: 'MsgNope', from: 1, to: 2, term: 1 }],
    ['a negative term', { type: 'MsgHeartbeat', from: 1, to: 2, term: -1, commit: 0 }],
    ['an append without entries', { type: 'MsgApp', from: 1, to: 2, term: 1, prevIndex: 0, prevTerm: 0, commit: 0 }],
    ['a checkpoint without nodes', { type: 'MsgSnap', from: 1, to: 2, term: 1, snapshotIndex: 1, snapshotTerm: 1, checkpoint: { index: 1, term: 1, zxid: 1 } }],
  ])('drops %s', (_what, raw) => {
    expect(decodePeerMessage(raw)).toBeUndefined();
  });

  it('tells a session touch from a Raft message', () => {
    const touch = { type: 'SessionTouch', from: 2, to: 1, sessions: [5, 6] };
    expect(decodeSessionTouch(touch)).toEqual(touch);
    expect(decodePeerMessage(touch)).toBeUndefined();
    expect(decodeSessionTouch({ ...touch, sessions: ['x'] })).toBeUndefined();
  });
});

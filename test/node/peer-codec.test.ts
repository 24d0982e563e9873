/** Raft messages on the wire between members: what goes out comes back the same; odd shapes are dropped. */
import { describe, expect, it } from 'vitest';
import { OPEN_ACL, PERM } from '../../src/core/acl/acl.ts';
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import { decodePeerMessage, decodeSessionTouch, encodePeerMessage } from '../../src/node/peer-codec.ts';
import type { CheckpointImage } from '../../src/node/checkpoints.ts';

const STAT = { czxid: 5, mzxid: 5, pzxid: 5, ctime: 1, mtime: 1, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0, dataLength: 1, numChildren: 0 };
const REQUESTS: CheckpointImage['requests'] = [
  { client: 'session:8', id: 'r-1', zxid: 5, digest: '0123456789abcdef', result: { ok: true, results: [{ type: 'create', path: '/a', stat: STAT }] } },
  { client: 'alice', id: 'r-1', zxid: 7, digest: 'fedcba9876543210', result: { ok: false, failedOp: 1, error: { code: 'NONODE', message: 'no node', path: '/b' } } },
];

const snapOf = (checkpoint: unknown) => ({ type: 'MsgSnap', from: 1, to: 2, term: 1, snapshotIndex: 9, snapshotTerm: 2, checkpoint });

const wire = (m: RaftMessage) => JSON.parse(JSON.stringify(encodePeerMessage(m))) as unknown;

describe('peer codec', () => {
  it('carries an append with its entries unchanged', () => {
    const m: RaftMessage = { type: 'MsgApp', from: 1, to: 2, term: 3, prevIndex: 4, prevTerm: 3, commit: 4, entries: [{ term: 3, index: 5, data: '{"x":1}' }] };
    expect(decodePeerMessage(wire(m))).toEqual(m);
  });

  it('carries a checkpoint with binary node data, its ACLs, its sessions, its watches and its request ids', () => {
    const digest = [{ perms: PERM.ALL, scheme: 'digest', id: 'bob:HASH' }, { perms: PERM.READ, scheme: 'world', id: 'anyone' }];
    const checkpoint: CheckpointImage = {
      index: 9, term: 2, zxid: 2 * 2 ** 32 + 9,
      nodes: [
        { path: '/a', data: new Uint8Array([0, 255, 7]), czxid: 1, mzxid: 2, pzxid: 3, ctime: 4, mtime: 5, version: 6, aversion: 0, creations: 0, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, acl: OPEN_ACL },
        { path: '/b', data: new Uint8Array(0), czxid: 2, mzxid: 2, pzxid: 2, ctime: 4, mtime: 4, version: 0, aversion: 1, creations: 0, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, acl: digest },
        { path: '/c', data: new Uint8Array(0), czxid: 3, mzxid: 3, pzxid: 3, ctime: 4, mtime: 4, version: 0, aversion: 0, creations: 0, kind: 'persistent', ephemeralOwner: 0, ttlMs: 0, acl: digest },
      ],
      sessions: [{ id: 8, timeoutMs: 4000, tokenHash: 'ab', auth: ['digest:bob:HASH', 'ip:127.0.0.1'] }],
      watches: [{ sessionId: 8, kind: 'data', path: '/a' }],
      requests: REQUESTS,
    };
    const m: RaftMessage = { type: 'MsgSnap', from: 1, to: 3, term: 2, snapshotIndex: 9, snapshotTerm: 2, checkpoint };
    const back = decodePeerMessage(wire(m)) as RaftMessage & { checkpoint: CheckpointImage };
    expect(back.checkpoint.nodes[0]!.data).toEqual(new Uint8Array([0, 255, 7]));
    expect(back.checkpoint.nodes.map((n) => n.acl)).toEqual([OPEN_ACL, digest, digest]);
    expect(back.checkpoint.nodes[0]!.acl).toBe(OPEN_ACL);
    expect(back.checkpoint.sessions).toEqual(checkpoint.sessions);
    expect(back.checkpoint.watches).toEqual(checkpoint.watches);
    expect(back.checkpoint.requests).toEqual(REQUESTS);
  });

  it('reads a checkpoint from a leader without request ids as an empty table', () => {
    const image = { index: 9, term: 2, zxid: 2 * 2 ** 32 + 9, nodes: [], sessions: [], watches: [] };
    const back = decodePeerMessage(snapOf(image)) as RaftMessage & { checkpoint: CheckpointImage };
    expect(back.checkpoint.requests).toEqual([]);
  });

  it.each([
    ['not a list', {}],
    ['a record without a digest', [{ ...REQUESTS[0], digest: undefined }]],
    ['a record whose result has a Stat field missing', [{ ...REQUESTS[0], result: { ok: true, results: [{ type: 'create', path: '/a', stat: { czxid: 1 } }] } }]],
    ['a record whose error has an unknown code', [{ ...REQUESTS[1], result: { ok: false, failedOp: 0, error: { code: 'OOPS', message: '' } } }]],
  ])('drops a checkpoint whose request ids are %s', (_what, requests) => {
    const image = { index: 9, term: 2, zxid: 2 * 2 ** 32 + 9, nodes: [], sessions: [], watches: [], requests };
    expect(decodePeerMessage(snapOf(image))).toBeUndefined();
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

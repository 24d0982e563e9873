/** Binary peer messages: what goes out comes back the same; anything malformed is a PeerWireError, never a throw. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import { decodeWire, encodeRaftWire, PeerWireError, WIRE_VERSION } from '../../src/node/peer-wire.ts';

const count = fc.maxSafeNat();
const text = fc.string({ unit: 'binary', maxLength: 40 });
const base = { from: count, to: count, term: count };
const context = fc.option(text, { nil: undefined });
/** Optional fields are left out when absent, as the core builds them. */
const withContext = <T extends object>(m: T & { context?: string | undefined }): T =>
  (m.context === undefined ? (({ context: _, ...rest }) => rest)(m) : m) as T;

const raftMessage: fc.Arbitrary<RaftMessage> = fc.oneof(
  fc.record({ type: fc.constantFrom('MsgVote' as const, 'MsgPreVote' as const), ...base, lastIndex: count, lastTerm: count }),
  fc.record({ type: fc.constantFrom('MsgVoteResp' as const, 'MsgPreVoteResp' as const), ...base, granted: fc.boolean() }),
  fc.record({
    type: fc.constant('MsgApp' as const), ...base, prevIndex: count, prevTerm: count, commit: count,
    entries: fc.array(fc.record({ term: count, index: count, data: text }), { maxLength: 5 }),
  }),
  fc.record({ type: fc.constant('MsgAppResp' as const), ...base, index: count, rejected: fc.boolean() }),
  fc.record({ type: fc.constant('MsgHeartbeat' as const), ...base, commit: count, context }).map(withContext),
  fc.record({ type: fc.constant('MsgHeartbeatResp' as const), ...base, context }).map(withContext),
  fc.record({ type: fc.constant('MsgReadIndex' as const), ...base, context: text }),
  fc.record({ type: fc.constant('MsgReadIndexResp' as const), ...base, context: text, index: count }),
);

/** A copy of the encoder's bytes (they are valid only until the next encode). */
const copy = (b: Uint8Array | undefined) => new Uint8Array(b!);

describe('binary peer messages', () => {
  it('carry every Raft message but MsgSnap unchanged', () => {
    fc.assert(fc.property(raftMessage, (message) => {
      expect(decodeWire(copy(encodeRaftWire(message)))).toEqual({ kind: 'raft', message });
    }));
  });

  it('leave MsgSnap to JSON (its checkpoint rides there)', () => {
    expect(encodeRaftWire({ type: 'MsgSnap', from: 1, to: 2, term: 3, snapshotIndex: 4, snapshotTerm: 3 })).toBeUndefined();
  });

  it('answer a PeerWireError, never a throw, for any truncation or trailing bytes', () => {
    fc.assert(fc.property(raftMessage, fc.nat(), (message, cut) => {
      const encoded = copy(encodeRaftWire(message));
      const truncated = encoded.subarray(0, cut % encoded.length);
      expect(decodeWire(truncated)).toBeInstanceOf(PeerWireError);
      expect(decodeWire(new Uint8Array([...encoded, 0]))).toBeInstanceOf(PeerWireError);
    }));
  });

  it('answer a PeerWireError, never a throw, for arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (random) => {
      const decoded = decodeWire(random);
      if (!(decoded instanceof PeerWireError)) expect(decoded.kind).toMatch(/^(raft|Proposal|ProposalAnswer)$/);
    }));
  });

  it.each([
    ['another wire version', [WIRE_VERSION + 1, 5], /wire version/],
    ['an unknown kind', [WIRE_VERSION, 99], /unknown peer message kind/],
    ['a whole HTTP request forwarded the old way (kind 20)', [WIRE_VERSION, 20], /unknown peer message kind/],
    ['nothing at all', [], /short/],
  ])('says why it drops %s', (_what, raw, why) => {
    const decoded = decodeWire(new Uint8Array(raw as number[]));
    expect(decoded).toBeInstanceOf(PeerWireError);
    expect((decoded as PeerWireError).message).toMatch(why);
  });

  it('refuses a negative or fractional number and an out-of-range flag', () => {
    const heartbeat = copy(encodeRaftWire({ type: 'MsgAppResp', from: 1, to: 2, term: 3, index: 4, rejected: false }));
    const view = Buffer.from(heartbeat.buffer);
    view.writeDoubleLE(-1, 2 + 16); // term
    expect(decodeWire(view)).toBeInstanceOf(PeerWireError);
    view.writeDoubleLE(1.5, 2 + 16);
    expect(decodeWire(view)).toBeInstanceOf(PeerWireError);
    view.writeDoubleLE(3, 2 + 16);
    view[view.length - 1] = 2; // rejected
    expect(decodeWire(view)).toBeInstanceOf(PeerWireError);
  });

  it('refuses a count of entries larger than the bytes that follow could hold, before allocating', () => {
    const app = copy(encodeRaftWire({ type: 'MsgApp', from: 1, to: 2, term: 3, prevIndex: 0, prevTerm: 0, commit: 0, entries: [] }));
    Buffer.from(app.buffer).writeDoubleLE(2 ** 40, app.length - 8);
    expect((decodeWire(app) as PeerWireError).message).toMatch(/entries in/);
  });
});

/** Binary peer messages: what goes out comes back the same; anything malformed is a PeerWireError, never a throw. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import {
  decodeWire, encodeForwardRequestWire, encodeForwardResponseWire, encodeRaftWire, PeerWireError, WIRE_VERSION, type WireMessage,
} from '../../src/node/peer-wire.ts';

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

const headers = fc.array(fc.tuple(text, text), { maxLength: 4 });
const bytes = fc.uint8Array({ maxLength: 64 });

/** A copy of the encoder's bytes (they are valid only until the next encode). */
const copy = (b: Uint8Array | undefined) => new Uint8Array(b!);

const plain = (decoded: WireMessage | PeerWireError): unknown => {
  if (decoded instanceof PeerWireError) return decoded;
  // Bodies come back as Uint8Array copies; compare their bytes.
  if (decoded.kind === 'ForwardRequest') return { ...decoded, request: { ...decoded.request, body: [...decoded.request.body] } };
  if (decoded.kind === 'ForwardResponse') return { ...decoded, response: { ...decoded.response, body: [...decoded.response.body] } };
  return decoded;
};

describe('binary peer messages', () => {
  it('carry every Raft message but MsgSnap unchanged', () => {
    fc.assert(fc.property(raftMessage, (message) => {
      expect(decodeWire(copy(encodeRaftWire(message)))).toEqual({ kind: 'raft', message });
    }));
  });

  it('leave MsgSnap to JSON (its checkpoint rides there)', () => {
    expect(encodeRaftWire({ type: 'MsgSnap', from: 1, to: 2, term: 3, snapshotIndex: 4, snapshotTerm: 3 })).toBeUndefined();
  });

  it('carry forwarded requests and answers, binary bodies and any header text included', () => {
    fc.assert(fc.property(count, count, text, fc.constantFrom('PUT', 'POST', 'DELETE'), text, headers, bytes,
      (from, to, id, method, path, hs, body) => {
        const request = { method, target: `/${path}`, headers: hs, body };
        const decoded = decodeWire(copy(encodeForwardRequestWire(from, to, id, request)));
        expect(plain(decoded)).toEqual({ kind: 'ForwardRequest', from, to, id, request: { ...request, body: [...body] } });
      }));
    fc.assert(fc.property(count, count, text, fc.integer({ min: 100, max: 599 }), headers, bytes, (from, to, id, status, hs, body) => {
      const decoded = decodeWire(copy(encodeForwardResponseWire(from, to, id, { status, headers: hs, body })));
      expect(plain(decoded)).toEqual({ kind: 'ForwardResponse', from, to, id, response: { status, headers: hs, body: [...body] } });
    }));
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
      if (!(decoded instanceof PeerWireError)) expect(decoded.kind).toMatch(/^(raft|ForwardRequest|ForwardResponse)$/);
    }));
  });

  it.each([
    ['another wire version', [WIRE_VERSION + 1, 5], /wire version/],
    ['an unknown kind', [WIRE_VERSION, 99], /unknown peer message kind/],
    ['nothing at all', [], /short/],
  ])('says why it drops %s', (_what, raw, why) => {
    const decoded = decodeWire(new Uint8Array(raw as number[]));
    expect(decoded).toBeInstanceOf(PeerWireError);
    expect((decoded as PeerWireError).message).toMatch(why);
  });

  it('refuses a negative or fractional number, an out-of-range flag, a status that is not HTTP and a target that is not a path', () => {
    const heartbeat = copy(encodeRaftWire({ type: 'MsgAppResp', from: 1, to: 2, term: 3, index: 4, rejected: false }));
    const view = Buffer.from(heartbeat.buffer);
    view.writeDoubleLE(-1, 2 + 16); // term
    expect(decodeWire(view)).toBeInstanceOf(PeerWireError);
    view.writeDoubleLE(1.5, 2 + 16);
    expect(decodeWire(view)).toBeInstanceOf(PeerWireError);
    view.writeDoubleLE(3, 2 + 16);
    view[view.length - 1] = 2; // rejected
    expect(decodeWire(view)).toBeInstanceOf(PeerWireError);
    const response = copy(encodeForwardResponseWire(1, 2, 'x', { status: 700, headers: [], body: new Uint8Array(0) }));
    expect(decodeWire(response)).toBeInstanceOf(PeerWireError);
    const request = copy(encodeForwardRequestWire(1, 2, 'x', { method: 'PUT', target: 'http://elsewhere/', headers: [], body: new Uint8Array(0) }));
    expect(decodeWire(request)).toBeInstanceOf(PeerWireError);
  });

  it('refuses a count of headers or entries larger than the bytes that follow could hold, before allocating', () => {
    const app = copy(encodeRaftWire({ type: 'MsgApp', from: 1, to: 2, term: 3, prevIndex: 0, prevTerm: 0, commit: 0, entries: [] }));
    Buffer.from(app.buffer).writeDoubleLE(2 ** 40, app.length - 8);
    expect((decodeWire(app) as PeerWireError).message).toMatch(/entries in/);
  });
});

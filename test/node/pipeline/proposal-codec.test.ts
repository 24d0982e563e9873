/** Proposals and answers on the wire, JSON and binary: what goes out comes back the same; anything malformed is refused, never thrown. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeWire, encodeAnswerWire, encodeProposalWire, PeerWireError, PROPOSAL_LAYOUT } from '../../../src/node/peer-wire.ts';
import { decodeAnswerJson, decodeProposalJson, encodeAnswerJson, encodeProposalJson } from '../../../src/node/pipeline/proposal-codec.ts';
import type { ProposalOutcome, ProposalRequest } from '../../../src/node/pipeline/proposal.ts';
import { MalformedProposal } from '../../../src/node/pipeline/proposal-values.ts';
import { OPEN_ACL } from '../../../src/core/acl/acl.ts';
import { CREATE_MODES } from '../../../src/core/tree/znode.ts';

const count = fc.maxSafeNat();
const int = fc.integer({ min: -2147483648, max: 2147483647 });
const text = fc.string({ maxLength: 20 });
const bytes = fc.uint8Array({ maxLength: 32 });
const error = fc.record({ code: fc.constantFrom('NONODE' as const, 'CONNECTIONLOSS' as const, 'BADARGUMENTS' as const), message: text });
const stat = fc.record({
  czxid: count, mzxid: count, pzxid: count, ctime: count, mtime: count, version: int, cversion: int, aversion: int,
  ephemeralOwner: count, dataLength: count, numChildren: count,
});

/** An ACL as a client may give one: the open one, or a few entries of any perms under the known schemes. */
const acl = fc.oneof(
  fc.constant(OPEN_ACL),
  fc.array(fc.record({
    perms: fc.integer({ min: 0, max: 31 }),
    scheme: fc.constantFrom('world', 'digest', 'ip', 'x509'),
    id: fc.string({ maxLength: 12 }),
  }), { maxLength: 4 }),
);
const op = fc.oneof(
  fc.record({ type: fc.constant('create' as const), path: text, data: bytes, mode: fc.constantFrom(...CREATE_MODES), ttlMs: int, acl }),
  fc.record({ type: fc.constant('setACL' as const), path: text, acl, version: int }),
  fc.record({ type: fc.constant('setData' as const), path: text, data: bytes, version: int }),
  fc.record({ type: fc.constantFrom('delete' as const, 'check' as const), path: text, version: int }),
);
const txn = fc.oneof(
  fc.record({ type: fc.constant('write' as const), ops: fc.array(op, { maxLength: 4 }), multi: fc.boolean(), sessionId: count }),
  fc.record({ type: fc.constant('write' as const), ops: fc.array(op, { maxLength: 2 }), multi: fc.boolean(), sessionId: count, request: fc.record({ client: text, id: text }) }),
  fc.record({ type: fc.constant('createSession' as const), timeoutMs: count, tokenHash: text }),
  fc.record({ type: fc.constant('closeSession' as const), sessionId: count, reason: fc.constantFrom('closed' as const, 'expired' as const) }),
  fc.record({ type: fc.constant('watch' as const), sessionId: count, request: fc.oneof(
    fc.record({ op: fc.constantFrom('getData' as const, 'exists' as const, 'getChildren' as const), path: text }),
    fc.record({ op: fc.constant('addWatch' as const), path: text, mode: fc.constantFrom('persistent' as const, 'persistent_recursive' as const) }),
    fc.record({ op: fc.constant('removeWatches' as const), path: text, watchType: fc.constantFrom('data' as const, 'children' as const, 'any' as const) }),
  ) }),
);
const request: fc.Arbitrary<ProposalRequest> = fc.record({
  proposal: fc.oneof(fc.record({ type: fc.constant('txn' as const), txn }), fc.record({ type: fc.constant('keepalive' as const), sessionId: count })),
  identities: fc.array(text, { maxLength: 3 }),
  deadlineMs: count,
});
const opResult = fc.oneof(
  fc.record({ type: fc.constantFrom('create' as const, 'setData' as const, 'setACL' as const), path: text, stat }),
  fc.record({ type: fc.constantFrom('delete' as const, 'check' as const), path: text }),
);
const result = fc.oneof(
  fc.constant(undefined),
  fc.record({ ok: fc.constant(true as const), results: fc.array(opResult, { maxLength: 3 }) }),
  fc.record({ ok: fc.constant(false as const), failedOp: count, error }),
  fc.record({ ok: fc.constant(true as const), sessionId: count }),
  fc.record({ ok: fc.constant(false as const), error }),
  fc.record({ ok: fc.constant(true as const), watch: fc.constant(true as const), stat, data: bytes, children: fc.array(text, { maxLength: 3 }) }, { requiredKeys: ['ok', 'watch'] }),
  fc.record({ ok: fc.constant(false as const), watch: fc.constant(true as const), error }),
);
const outcome: fc.Arbitrary<ProposalOutcome> = fc.oneof(
  fc.record({ ok: fc.constant(true as const), zxid: count, result }),
  fc.record({ ok: fc.constant(false as const), error }),
  fc.record({ ok: fc.constant(false as const), error, failedOp: count }),
);
const LAYOUTS = [1, 2] as const;
const env = { from: fc.integer({ min: 1, max: 9 }), to: fc.integer({ min: 1, max: 9 }), id: fc.string({ minLength: 1, maxLength: 30 }) };

/** What the transport does to JSON: stringify, then parse. */
const overJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
const copy = (b: Uint8Array) => new Uint8Array(b);

describe('proposal codecs', () => {
  it('round-trips any proposal through JSON and through binary frames of either layout', () => {
    fc.assert(fc.property(fc.record({ ...env, request }), (message) => {
      expect(decodeProposalJson(overJson(encodeProposalJson(message)))).toEqual(message);
      for (const layout of LAYOUTS) expect(decodeWire(copy(encodeProposalWire(message, layout)))).toEqual({ kind: 'Proposal', ...message });
    }));
  });

  it('round-trips any answer — Stat, data bytes and children included — through JSON and binary frames of either layout', () => {
    fc.assert(fc.property(fc.record({ ...env, outcome }), (message) => {
      expect(decodeAnswerJson(overJson(encodeAnswerJson(message)))).toEqual(message);
      for (const layout of LAYOUTS) expect(decodeWire(copy(encodeAnswerWire(message, layout)))).toEqual({ kind: 'ProposalAnswer', ...message });
    }));
  });

  it('writes layout 2 unless told the peer reads only layout 1', () => {
    const message = { from: 2, to: 1, id: 'n.1', request: { proposal: { type: 'keepalive' as const, sessionId: 5 }, identities: [], deadlineMs: 10 } };
    expect(PROPOSAL_LAYOUT).toBe(2);
    expect(encodeProposalWire(message)[1]).toBe(24);
    expect(encodeProposalWire(message, 1)[1]).toBe(22);
    const answer = { from: 1, to: 2, id: 'n.1', outcome: { ok: true as const, zxid: 3, result: undefined } };
    expect(encodeAnswerWire(answer)[1]).toBe(25);
    expect(encodeAnswerWire(answer, 1)[1]).toBe(23);
  });

  it('refuses, without throwing, any byte string that is not a message and any damaged frame', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (raw) => {
      const decoded = decodeWire(raw);
      expect(decoded instanceof PeerWireError || typeof decoded === 'object').toBe(true);
    }));
    fc.assert(fc.property(fc.record({ ...env, request }), fc.constantFrom(...LAYOUTS), fc.nat(), fc.integer({ min: 0, max: 255 }), (message, layout, at, value) => {
      const frame = copy(encodeProposalWire(message, layout));
      frame[at % frame.length] = value;
      expect(() => decodeWire(frame)).not.toThrow();
      expect(decodeWire(frame.subarray(0, at % frame.length))).toBeInstanceOf(PeerWireError);
    }));
    fc.assert(fc.property(fc.record({ ...env, outcome }), fc.constantFrom(...LAYOUTS), fc.nat(), fc.integer({ min: 0, max: 255 }), (message, layout, at, value) => {
      const frame = copy(encodeAnswerWire(message, layout));
      frame[at % frame.length] = value;
      expect(() => decodeWire(frame)).not.toThrow();
      expect(decodeWire(frame.subarray(0, at % frame.length))).toBeInstanceOf(PeerWireError);
    }));
  });

  it('refuses, without throwing, JSON of any other shape', () => {
    fc.assert(fc.property(fc.jsonValue(), (raw) => {
      expect(decodeProposalJson(raw)).toBeInstanceOf(MalformedProposal);
      expect(decodeAnswerJson(raw)).toBeInstanceOf(MalformedProposal);
    }));
  });

  const valid = { type: 'Proposal', from: 2, to: 1, id: 'n.1', request: { proposal: { type: 'keepalive', sessionId: 5 }, identities: [], deadlineMs: 10 } };
  const cases = [
    ['an unknown txn type', { proposal: { type: 'txn', txn: { type: 'noop' } } }],
    ['a server txn (reap)', { proposal: { type: 'txn', txn: { type: 'reap', path: '/a', czxid: 1 } } }],
    ['a negative session id', { proposal: { type: 'keepalive', sessionId: -1 } }],
    ['a deadline that is not a number', { deadlineMs: '10' }],
    ['an identity that is not a string', { identities: [1] }],
    ['an unknown create mode', { proposal: { type: 'txn', txn: { type: 'write', multi: false, sessionId: 0, ops: [{ type: 'create', path: '/a', data: '', mode: 'weird', ttlMs: -1 }] } } }],
    ['data that is not base64', { proposal: { type: 'txn', txn: { type: 'write', multi: false, sessionId: 0, ops: [{ type: 'setData', path: '/a', data: '%%', version: 1 }] } } }],
    ['a fractional version', { proposal: { type: 'txn', txn: { type: 'write', multi: false, sessionId: 0, ops: [{ type: 'delete', path: '/a', version: 1.5 }] } } }],
    ['an ACL that is not a list', { proposal: { type: 'txn', txn: { type: 'write', multi: false, sessionId: 0, ops: [{ type: 'setACL', path: '/a', acl: 'world:anyone:r', version: -1 }] } } }],
    ['ACL perms beyond cdrwa', { proposal: { type: 'txn', txn: { type: 'write', multi: false, sessionId: 0, ops: [{ type: 'setACL', path: '/a', acl: [{ perms: 32, scheme: 'world', id: 'anyone' }], version: -1 }] } } }],
  ] as const;
  it.each(cases)('refuses a proposal with %s', (_what, change) => {
    expect(decodeProposalJson(valid)).not.toBeInstanceOf(MalformedProposal);
    expect(decodeProposalJson({ ...valid, request: { ...valid.request, ...change } })).toBeInstanceOf(MalformedProposal);
  });

  /** A layout-2 frame of `message` with the byte at `at` (counted from the end when negative) set to `value`. */
  const altered = (frame: Uint8Array, at: number, value: number): Uint8Array => {
    const bytes = copy(frame);
    bytes[at < 0 ? bytes.length + at : at] = value;
    return bytes;
  };
  const setData = (data: Uint8Array) => ({ from: 2, to: 1, id: 'n.1', request: {
    proposal: { type: 'txn' as const, txn: { type: 'write' as const, multi: false, sessionId: 0, ops: [{ type: 'setData' as const, path: '/a', data, version: -1 }] } },
    identities: [], deadlineMs: 10 } });
  const withAcl = (perms: number, scheme: string) => ({ from: 2, to: 1, id: 'n.1', request: {
    proposal: { type: 'txn' as const, txn: { type: 'write' as const, multi: false, sessionId: 0, ops: [{ type: 'setACL' as const, path: '/a', acl: [{ perms, scheme, id: 'x' }], version: -1 }] } },
    identities: [], deadlineMs: 10 } });

  it('refuses a layout-2 proposal whose op, mode or ACL is not one a client may give', () => {
    expect(decodeWire(encodeProposalWire(setData(new Uint8Array(0))))).not.toBeInstanceOf(PeerWireError);
    // The op type's index sits after the envelope, the proposal and txn types, multi, session and the request flag.
    const opAt = 2 + 8 + 8 + 4 + 3 + 1 + 1 + 1 + 8 + 1 + 8;
    expect(encodeProposalWire(setData(new Uint8Array(0)))[opAt]).toBe(2); // setData
    expect(decodeWire(altered(encodeProposalWire(setData(new Uint8Array(0))), opAt, 9))).toBeInstanceOf(PeerWireError);
    expect(decodeWire(encodeProposalWire(withAcl(31, 'world')))).not.toBeInstanceOf(PeerWireError);
    expect(decodeWire(encodeProposalWire(withAcl(32, 'world')))).toBeInstanceOf(PeerWireError);
    expect(decodeWire(encodeProposalWire(withAcl(1, 'not a scheme')))).toBeInstanceOf(PeerWireError);
  });

  it('refuses a layout-2 answer with an unknown error code', () => {
    const answer = { from: 1, to: 2, id: 'n.1', outcome: { ok: false as const, error: { code: 'NONODE' as const, message: '' } } };
    expect(decodeWire(encodeAnswerWire(answer))).toEqual({ kind: 'ProposalAnswer', ...answer });
    const bad = { ...answer, outcome: { ok: false as const, error: { code: 'NOPE' as never, message: '' } } };
    expect(decodeWire(encodeAnswerWire(bad))).toBeInstanceOf(PeerWireError);
  });

  it('refuses an answer with an unknown error code or a Stat missing a field', () => {
    const base = { type: 'ProposalAnswer', from: 1, to: 2, id: 'n.1' };
    expect(decodeAnswerJson({ ...base, outcome: { ok: false, error: { code: 'NOPE', message: '' } } })).toBeInstanceOf(MalformedProposal);
    const results = [{ type: 'create', path: '/a', stat: { czxid: 1 } }];
    expect(decodeAnswerJson({ ...base, outcome: { ok: true, zxid: 1, result: { ok: true, results } } })).toBeInstanceOf(MalformedProposal);
  });
});

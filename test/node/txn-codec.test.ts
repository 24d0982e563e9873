import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OPEN_ACL, type Acl } from '../../src/core/acl/acl.ts';
import type { TxnEnvelope, WriteOp } from '../../src/core/tree/txn.ts';
import { CREATE_MODES } from '../../src/core/tree/znode.ts';
import { decodeTxn, encodeTxn } from '../../src/node/txn-codec.ts';

const path = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => `/${s}`);
const bytes = fc.uint8Array({ maxLength: 64 });
const int = fc.integer({ min: -1, max: 2 ** 31 });

/** The open ACL (nearly every create's), or a few entries of any perms under the known schemes. */
const acl: fc.Arbitrary<Acl> = fc.oneof(
  fc.constant(OPEN_ACL),
  fc.array(fc.record({
    perms: fc.integer({ min: 0, max: 31 }),
    scheme: fc.constantFrom('world', 'digest', 'ip', 'x509'),
    id: fc.string({ maxLength: 12 }),
  }), { maxLength: 4 }),
);
const identity = fc.tuple(fc.constantFrom('digest', 'ip', 'x509', 'jwt', 'super'), fc.string({ maxLength: 12 })).map(([scheme, id]) => `${scheme}:${id}`);
const auth = fc.array(identity, { maxLength: 4 });

const op: fc.Arbitrary<WriteOp> = fc.oneof(
  fc.record({ type: fc.constant('create' as const), path, data: bytes, mode: fc.constantFrom(...CREATE_MODES), ttlMs: int, acl }),
  fc.record({ type: fc.constant('setData' as const), path, data: bytes, version: int }),
  fc.record({ type: fc.constant('delete' as const), path, version: int }),
  fc.record({ type: fc.constant('check' as const), path, version: int }),
  fc.record({ type: fc.constant('setACL' as const), path, acl, version: int }),
);

const write: fc.Arbitrary<TxnEnvelope> = fc.record({
  timeMs: fc.nat(),
  txn: fc.record({
    type: fc.constant('write' as const),
    ops: fc.array(op, { minLength: 1, maxLength: 5 }),
    multi: fc.boolean(),
    sessionId: fc.nat(),
    auth,
    request: fc.option(fc.record({ client: fc.string({ maxLength: 10 }), id: fc.string({ maxLength: 10 }) }), { nil: undefined }),
  }, { requiredKeys: ['type', 'ops', 'multi', 'sessionId', 'auth'] }),
});

/** The log's format: JSON of the envelope with each op's data as base64 and the open ACL left out. */
function reference(envelope: TxnEnvelope): unknown {
  if (envelope.txn.type !== 'write') return envelope;
  const ops = envelope.txn.ops.map((o) => {
    const withData = 'data' in o ? { ...o, data: Buffer.from(o.data).toString('base64') } : o;
    if (!('acl' in withData) || withData.acl !== OPEN_ACL) return withData;
    const { acl: _open, ...rest } = withData;
    return rest;
  });
  return { timeMs: envelope.timeMs, txn: { ...envelope.txn, ops } };
}

/** An envelope with its data as plain arrays, to compare Uint8Arrays and Buffers by content. */
function plain(envelope: TxnEnvelope): unknown {
  return JSON.parse(JSON.stringify(envelope, (_key, value: unknown) => (value instanceof Uint8Array ? [...value] : value)));
}

describe('encodeTxn', () => {
  it('writes a write txn as the JSON of the envelope with data as base64, which decodeTxn reads back', () => {
    fc.assert(fc.property(write, (envelope) => {
      const text = encodeTxn(envelope);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(reference(envelope))));
      const decoded = decodeTxn(text);
      expect(plain(decoded)).toEqual(plain(envelope));
      // The open ACL comes back as the shared one (what ACL checks and interning recognise).
      if (envelope.txn.type !== 'write' || decoded.txn.type !== 'write') throw new Error('a write decodes as a write');
      const sent = envelope.txn.ops;
      decoded.txn.ops.forEach((o, i) => {
        const before = sent[i]!;
        if ('acl' in before && before.acl === OPEN_ACL) expect('acl' in o && o.acl).toBe(OPEN_ACL);
      });
    }));
  });

  it('writes a setData exactly as JSON.stringify would, keys in the same order', () => {
    const envelope: TxnEnvelope = {
      timeMs: 1_700_000_000_000,
      txn: { type: 'write', ops: [{ type: 'setData', path: '/a/"b"\\c', data: new Uint8Array([1, 2, 3]), version: -1 }], multi: false, sessionId: 0, auth: ['ip:127.0.0.1'] },
    };
    expect(encodeTxn(envelope)).toBe(JSON.stringify(reference(envelope)));
  });

  it('writes the identities an array holds at each write, frozen and shared by writes or changed between them', () => {
    const setData = (auth: readonly string[]): TxnEnvelope => ({
      timeMs: 1, txn: { type: 'write', ops: [{ type: 'setData', path: '/a', data: new Uint8Array(0), version: -1 }], multi: false, sessionId: 0, auth },
    });
    const frozen = Object.freeze(['digest:alice', 'ip:127.0.0.1']);
    for (let i = 0; i < 2; i++) expect(encodeTxn(setData(frozen))).toBe(JSON.stringify(reference(setData(frozen))));
    const changing = ['ip:127.0.0.1'];
    expect(encodeTxn(setData(changing))).toContain('"auth":["ip:127.0.0.1"]');
    changing.push('super:root');
    expect(encodeTxn(setData(changing))).toContain('"auth":["ip:127.0.0.1","super:root"]');
  });

  it('reads an entry written before ACLs as open nodes and a caller without identities', () => {
    const create = '{"timeMs":1,"txn":{"type":"write","ops":[{"type":"create","path":"/a","data":"AQ==","mode":"persistent","ttlMs":-1}],"multi":false,"sessionId":0}}';
    const decoded = decodeTxn(create);
    expect(plain(decoded)).toEqual({ timeMs: 1, txn: { type: 'write', ops: [{ type: 'create', path: '/a', data: [1], mode: 'persistent', ttlMs: -1, acl: OPEN_ACL }], multi: false, sessionId: 0, auth: [] } });
    expect(decoded.txn.type === 'write' && decoded.txn.ops[0]!.type === 'create' && decoded.txn.ops[0]!.acl).toBe(OPEN_ACL);
    expect(decodeTxn('{"timeMs":1,"txn":{"type":"createSession","timeoutMs":4000,"tokenHash":"ab"}}'))
      .toEqual({ timeMs: 1, txn: { type: 'createSession', timeoutMs: 4000, tokenHash: 'ab', auth: [] } });
    expect(decodeTxn('{"timeMs":1,"txn":{"type":"watch","sessionId":3,"request":{"op":"exists","path":"/a"}}}'))
      .toEqual({ timeMs: 1, txn: { type: 'watch', sessionId: 3, request: { op: 'exists', path: '/a' }, auth: [] } });
  });
});

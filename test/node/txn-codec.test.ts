import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TxnEnvelope, WriteOp } from '../../src/core/tree/txn.ts';
import { CREATE_MODES } from '../../src/core/tree/znode.ts';
import { decodeTxn, encodeTxn } from '../../src/node/txn-codec.ts';

const path = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => `/${s}`);
const bytes = fc.uint8Array({ maxLength: 64 });
const int = fc.integer({ min: -1, max: 2 ** 31 });

const op: fc.Arbitrary<WriteOp> = fc.oneof(
  fc.record({ type: fc.constant('create' as const), path, data: bytes, mode: fc.constantFrom(...CREATE_MODES), ttlMs: int }),
  fc.record({ type: fc.constant('setData' as const), path, data: bytes, version: int }),
  fc.record({ type: fc.constant('delete' as const), path, version: int }),
  fc.record({ type: fc.constant('check' as const), path, version: int }),
);

const write: fc.Arbitrary<TxnEnvelope> = fc.record({
  timeMs: fc.nat(),
  txn: fc.record({
    type: fc.constant('write' as const),
    ops: fc.array(op, { minLength: 1, maxLength: 5 }),
    multi: fc.boolean(),
    sessionId: fc.nat(),
    request: fc.option(fc.record({ client: fc.string({ maxLength: 10 }), id: fc.string({ maxLength: 10 }) }), { nil: undefined }),
  }, { requiredKeys: ['type', 'ops', 'multi', 'sessionId'] }),
});

/** The log's format: JSON of the envelope with each op's data as base64. */
function reference(envelope: TxnEnvelope): unknown {
  if (envelope.txn.type !== 'write') return envelope;
  const ops = envelope.txn.ops.map((o) => ('data' in o ? { ...o, data: Buffer.from(o.data).toString('base64') } : o));
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
      expect(plain(decodeTxn(text))).toEqual(plain(envelope));
    }));
  });

  it('writes a setData exactly as JSON.stringify would, keys in the same order', () => {
    const envelope: TxnEnvelope = {
      timeMs: 1_700_000_000_000,
      txn: { type: 'write', ops: [{ type: 'setData', path: '/a/"b"\\c', data: new Uint8Array([1, 2, 3]), version: -1 }], multi: false, sessionId: 0 },
    };
    expect(encodeTxn(envelope)).toBe(JSON.stringify(reference(envelope)));
  });
});

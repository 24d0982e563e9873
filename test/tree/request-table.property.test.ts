// Property test of exactly-once writes: random tagged writes (ids drawn from a small pool, so
// retries and reuses are frequent), by principals and by sessions, with session ends between,
// against a reference: a plain tree that applies each request's first attempt untagged (and a
// no-op for every retry), plus a map of first answers. The tagged tree must answer exactly as
// the reference says and end equal to it; a tree restored from its records answers the same.
// Reproduce a failure with FC_SEED=<seed printed below>; FC_NUM_RUNS overrides the run count.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import type { WriteResult } from '../../src/core/tree/results.ts';
import type { Txn, WriteOp } from '../../src/core/tree/txn.ts';
import { createOp, deleteOp, digest, setDataOp, TEST_SESSIONS } from './helpers.ts';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Date.now() % 2_147_483_647;
const NUM_RUNS = Math.min(Number(process.env.FC_NUM_RUNS ?? 200), 2000);
console.log(`request-table property tests: FC_SEED=${SEED} numRuns=${NUM_RUNS}`);

type Step =
  | { readonly kind: 'write'; readonly client: number; readonly id: number; readonly op: number; readonly path: number }
  | { readonly kind: 'close'; readonly session: number };

/** Clients 1–3 are sessions (session:1..3, acting for that session), 4–5 principals. */
const CLIENTS = 5;
const SESSION_CLIENTS = 3;

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('write' as const), client: fc.integer({ min: 1, max: CLIENTS }), id: fc.integer({ min: 0, max: 3 }), op: fc.integer({ min: 0, max: 4 }), path: fc.integer({ min: 0, max: 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), session: fc.integer({ min: 1, max: SESSION_CLIENTS }) }) },
);

function opOf(op: number, path: string): WriteOp {
  switch (op) {
    case 0: return createOp(path, 'persistent', 'c');
    case 1: return createOp(path, 'persistent_sequential', 's');
    case 2: return setDataOp(path, 'v');
    case 3: return setDataOp(path, 'w', 0);
    default: return deleteOp(path);
  }
}

interface First {
  readonly opKey: string;
  readonly result: WriteResult;
  readonly zxid: number;
}

describe('exactly-once writes (property)', () => {
  it('answers every retry with the first answer and applies each request once, as the reference says', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const tagged = new DataTree(undefined, 0, TEST_SESSIONS);
        const reference = new DataTree(undefined, 0, TEST_SESSIONS);
        const firsts = new Map<string, First>();
        const closed = new Set<number>();
        let zxid = 0;
        for (const s of steps) {
          zxid++;
          const envelope = (txn: Txn) => ({ timeMs: zxid * 10, txn });
          if (s.kind === 'close') {
            const txn: Txn = { type: 'closeSession', sessionId: s.session, reason: 'closed' };
            expect(tagged.apply(zxid, envelope(txn))).toEqual(reference.apply(zxid, envelope(txn)));
            for (const key of firsts.keys()) if (key.startsWith(`session:${s.session}/`)) firsts.delete(key);
            closed.add(s.session);
            continue;
          }
          const sessionId = s.client <= SESSION_CLIENTS ? s.client : 0;
          const client = sessionId !== 0 ? `session:${sessionId}` : `principal-${s.client}`;
          const ops = [opOf(s.op, `/p${s.path}`)];
          const opKey = `${s.op}:${s.path}`;
          const key = `${client}/${s.id}`;
          const output = tagged.apply(zxid, envelope({ type: 'write', ops, multi: false, sessionId, auth: [], request: { client, id: String(s.id) } }));
          const first = firsts.get(key);
          if (first) {
            reference.apply(zxid, envelope({ type: 'noop' }));
            expect(output.events).toEqual([]);
            if (first.opKey === opKey) {
              expect(output.result).toEqual(first.result);
              expect(output.firstZxid).toBe(first.zxid);
            } else {
              expect(output.result).toMatchObject({ ok: false, failedOp: 0, error: { code: 'BADARGUMENTS' } });
              expect(output.firstZxid).toBeUndefined();
            }
            continue;
          }
          const expected = reference.apply(zxid, envelope({ type: 'write', ops, multi: false, sessionId, auth: [] }));
          expect(output).toEqual(expected);
          // A closed session keeps no ids: its write fails and is not remembered.
          if (!closed.has(sessionId)) firsts.set(key, { opKey, result: output.result as WriteResult, zxid });
          else expect(output.result).toMatchObject({ ok: false, error: { code: 'SESSIONEXPIRED' } });
        }
        expect(digest(tagged)).toBe(digest(reference));
        expect(tagged.requests.size).toBe(firsts.size);
        const restored = new DataTree(tagged.snapshot(), zxid, tagged.sessions.all(), [], tagged.requests.all());
        for (const first of firsts.values()) {
          const record = tagged.requests.all().find((r) => r.zxid === first.zxid)!;
          expect(restored.requests.get(record.client, record.id)).toEqual(record);
        }
      }),
      { seed: SEED, numRuns: NUM_RUNS },
    );
  });
});

// Property tests of the pure data tree: random op sequences (creates in every mode, setData,
// delete, check, multis of 1–4 ops, reaps) keep the tree's invariants, agree with a reference
// model, and are deterministic (replay and checkpoint recovery reach the same state).
// Reproduce a failure with FC_SEED=<seed printed below>; FC_NUM_RUNS overrides the run count.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OPEN_ACL } from '../../src/core/acl/acl.ts';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import { prepareWrite } from '../../src/core/tree/prepare.ts';
import type { ApplyOutput, WriteResult } from '../../src/core/tree/results.ts';
import type { Txn } from '../../src/core/tree/txn.ts';
import { digest, Harness, newTree, nodeDigest } from './helpers.ts';
import { checkAgainstModel, checkInvariants, checkRecovered } from './invariants.ts';
import { Model } from './model.ts';
import { resolve, step, type Step } from './steps.ts';

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Date.now() % 2_147_483_647;
const NUM_RUNS = Math.min(Number(process.env.FC_NUM_RUNS ?? 200), 2000);
const MAX_STEPS = 40;
console.log(`data-tree property tests: FC_SEED=${SEED} numRuns=${NUM_RUNS}`);

const steps = fc.array(step, { minLength: 1, maxLength: MAX_STEPS, size: 'max' });
const params = { seed: SEED, numRuns: NUM_RUNS };

interface Run {
  readonly h: Harness;
  readonly outputs: ApplyOutput[];
  clock: number;
}

/** Resolves and applies one step; returns the txn, its output and the digest before it. */
function apply(run: Run, s: Step): { txn: Txn; output: ApplyOutput; before: string } {
  run.clock += s.dt;
  const txn = resolve(run.h.tree, s);
  if (txn.type === 'write') {
    const context = { timeMs: run.clock, sessionId: txn.sessionId, maxDataBytes: 1024, auth: txn.auth };
    expect(prepareWrite(txn.ops, txn.multi, context), 'generated writes pass prepare').toMatchObject({ ok: true });
  }
  const before = digest(run.h.tree);
  const output = run.h.applyTxn(txn, run.clock);
  run.outputs.push(output);
  return { txn, output, before };
}

/**
 * The tree's answer to `txn` matches the model's, and a failure or no-op changed nothing. The model
 * does not model ACLs: every node the steps create is open, and so is every system node a change can
 * touch (/zookeeper/config, the one that is not, refuses every write), so every event carries OPEN_ACL.
 */
function checkOutcome(run: Run, model: Model, txn: Txn, output: ApplyOutput, before: string): void {
  const zxid = run.h.lastZxid;
  const tree = run.h.tree;
  if (txn.type === 'write') {
    const expected = model.write(txn.ops, zxid, run.clock);
    if (!expected.ok) {
      const { failedOp, code } = expected;
      expect(output.result).toMatchObject({ ok: false, failedOp, error: { code } });
      expect(output.events, 'a failed write emits nothing').toEqual([]);
      expect(digest(tree), 'a failed write or multi leaves the tree unchanged').toBe(before);
      return;
    }
    const result = output.result as WriteResult;
    expect(result.ok, `write ${JSON.stringify(txn.ops.map((op) => [op.type, op.path]))} succeeds`).toBe(true);
    if (result.ok) expect(result.results.map((r) => r.path)).toEqual(expected.paths);
    expect(output.events).toEqual(expected.events.map((event) => ({ ...event, zxid, acl: OPEN_ACL })));
    return;
  }
  if (txn.type !== 'reap') return;
  expect(output.result).toBeUndefined();
  if (model.reap(txn.path, txn.czxid, zxid, run.clock)) {
    const parent = txn.path.slice(0, txn.path.lastIndexOf('/')) || '/';
    expect(output.events).toEqual([
      { type: 'NodeDeleted', path: txn.path, zxid, acl: OPEN_ACL }, { type: 'NodeChildrenChanged', path: parent, zxid, acl: OPEN_ACL },
    ]);
    expect(tree.stat(parent)?.pzxid).toBe(zxid);
  } else {
    expect(output.events, 'a reap that does not apply emits nothing').toEqual([]);
    expect(digest(tree), 'a reap that does not apply changes nothing').toBe(before);
  }
}

function newRun(): Run {
  return { h: new Harness(), outputs: [], clock: 1000 };
}

describe('DataTree under random op sequences', () => {
  it('keeps its invariants and agrees with a reference model after every step', () => {
    fc.assert(
      fc.property(steps, (list) => {
        const run = newRun();
        const model = new Model();
        for (const s of list) {
          const { txn, output, before } = apply(run, s);
          checkOutcome(run, model, txn, output, before);
          checkInvariants(run.h.tree);
          checkAgainstModel(run.h.tree, model);
        }
      }),
      params,
    );
  });

  it('reaches identical state and outputs when the same log is applied to a fresh tree', () => {
    fc.assert(
      fc.property(steps, (list) => {
        const run = newRun();
        for (const s of list) apply(run, s);
        const replica = newTree();
        const outputs = run.h.log.map(({ zxid, envelope }) => replica.apply(zxid, envelope));
        expect(outputs).toEqual(run.outputs);
        expect(digest(replica)).toBe(digest(run.h.tree));
        expect(replica.appliedZxid).toBe(run.h.tree.appliedZxid);
      }),
      params,
    );
  });

  it('recovers from a checkpoint to the same state and continues identically', () => {
    fc.assert(
      fc.property(steps, fc.nat(MAX_STEPS), (list, at) => {
        const run = newRun();
        const cut = at % list.length;
        list.slice(0, cut + 1).forEach((s) => apply(run, s));
        const snapshot = run.h.tree.snapshot();
        const digestAtCut = digest(run.h.tree);
        const recovered = new DataTree(snapshot, run.h.tree.appliedZxid, run.h.tree.sessions.all());
        checkRecovered(run.h.tree, recovered);
        const logAtCut = run.h.log.length;
        list.slice(cut + 1).forEach((s) => apply(run, s));
        // Records are immutable: the snapshot taken at the cut still shows the tree as it was.
        expect(snapshot.map(nodeDigest).sort().join('\n')).toBe(digestAtCut);
        for (const { zxid, envelope } of run.h.log.slice(logAtCut)) recovered.apply(zxid, envelope);
        checkRecovered(run.h.tree, recovered);
        expect(digest(recovered)).toBe(digest(run.h.tree));
      }),
      params,
    );
  });
});

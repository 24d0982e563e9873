// Specification of quotas on the node side: the leader stamps enforcement on the writes it logs
// (from its own --enforce-quota, never the proposer's word), the log carries it only when set, and
// the QuotaWarnings applier logs the limits applied writes pass, at most once per root per interval.
import { describe, expect, it } from 'vitest';
import { OPEN_ACL } from '../../src/core/acl/acl.ts';
import { DataTree } from '../../src/core/tree/data-tree.ts';
import type { ApplyOutput, QuotaExceeded } from '../../src/core/tree/results.ts';
import type { TxnEnvelope, WriteOp } from '../../src/core/tree/txn.ts';
import { LeaderProposals } from '../../src/node/pipeline/leader-proposals.ts';
import { decodeProposalJson, encodeProposalJson } from '../../src/node/pipeline/proposal-codec.ts';
import type { ClientTxn, ProposalRequest } from '../../src/node/pipeline/proposal.ts';
import { QuotaWarnings } from '../../src/node/quota-warnings.ts';
import { decodeTxn, encodeTxn } from '../../src/node/txn-codec.ts';

const NOW_MS = 5000;
const data = (s: string) => new TextEncoder().encode(s);
const create = (path: string, value = ''): WriteOp => ({ type: 'create', path, data: data(value), mode: 'persistent', ttlMs: -1, acl: OPEN_ACL });
const writeTxn = (...ops: WriteOp[]): ClientTxn => ({ type: 'write', ops, multi: ops.length > 1, sessionId: 0 });
const request = (txn: ClientTxn): ProposalRequest => ({ proposal: { type: 'txn', txn }, identities: [], deadlineMs: NOW_MS + 1000 });

/** A leader over a real tree that applies what it submits; `enforceQuota` is its config. */
function leader(enforceQuota?: boolean) {
  const tree = new DataTree();
  const submitted: TxnEnvelope[] = [];
  const host = {
    tree, appliedZxid: 0, status: () => ({ role: 'leader' as const }),
    submit: (envelope: TxnEnvelope) => {
      submitted.push(envelope);
      const zxid = tree.appliedZxid + 1;
      return Promise.resolve({ zxid, result: tree.apply(zxid, envelope).result });
    },
    expireOverdue: () => {},
  };
  const limits = { maxDataBytes: 1024, tickTimeMs: 1000, maxSessions: 10, maxWatchesPerSession: 4, ...(enforceQuota === undefined ? {} : { enforceQuota }) };
  const side = new LeaderProposals({ host, sessions: { heardFrom: () => undefined }, nowMs: () => NOW_MS, limits });
  return { side, submitted };
}

describe('quota enforcement decided by the leader', () => {
  it('stamps enforceQuota on the writes it logs when its config enforces quotas, and leaves it off otherwise', async () => {
    for (const [config, stamped] of [[true, true], [false, undefined], [undefined, undefined]] as const) {
      const { side, submitted } = leader(config);
      await side.propose(request(writeTxn(create('/a'))));
      expect(submitted[0]!.txn, `config ${config}`).toMatchObject({ type: 'write' });
      expect((submitted[0]!.txn as { enforceQuota?: true }).enforceQuota, `config ${config}`).toBe(stamped);
    }
  });

  it('refuses a create past a hard count limit with QUOTAEXCEEDED only where the leader enforces', async () => {
    const quota = [
      create('/x'), create('/zookeeper/quota/x'),
      create('/zookeeper/quota/x/zookeeper_limits', 'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=1'),
      create('/zookeeper/quota/x/zookeeper_stats', 'count=0,bytes=0'),
    ];
    for (const [enforce, code] of [[true, 'QUOTAEXCEEDED'], [false, undefined]] as const) {
      const { side } = leader(enforce);
      for (const op of quota) await side.propose(request(writeTxn(op)));
      const outcome = await side.propose(request(writeTxn(create('/x/child'))));
      if (code) expect(outcome).toMatchObject({ ok: true, result: { ok: false, error: { code } } });
      else expect(outcome).toMatchObject({ ok: true, result: { ok: true } });
    }
  });

  it('does not take enforcement from a forwarded proposal: the follower\'s word is dropped on the wire', () => {
    const txn = { ...writeTxn(create('/a')), enforceQuota: true } as ClientTxn;
    const wire = JSON.parse(JSON.stringify(encodeProposalJson({ from: 2, to: 1, id: 'p.1', request: request(txn) })));
    const decoded = decodeProposalJson(wire);
    expect(decoded).toMatchObject({ request: { proposal: { type: 'txn', txn: { type: 'write' } } } });
    expect('enforceQuota' in (decoded as { request: { proposal: { txn: object } } }).request.proposal.txn).toBe(false);
  });
});

describe('quota enforcement in the log', () => {
  const envelope = (enforceQuota: boolean): TxnEnvelope => ({
    timeMs: 7, txn: { type: 'write', ops: [create('/a', 'v')], multi: false, sessionId: 0, auth: [], ...(enforceQuota ? { enforceQuota: true as const } : {}) },
  });

  it('is written only when set, so an entry without it encodes as before', () => {
    expect(encodeTxn(envelope(false))).not.toContain('enforceQuota');
    expect(encodeTxn(envelope(true))).toContain('"enforceQuota":true');
  });

  it('round-trips, and an entry written before it existed decodes without it', () => {
    expect(decodeTxn(encodeTxn(envelope(true)))).toEqual(envelope(true));
    const old = '{"timeMs":7,"txn":{"type":"write","ops":[{"type":"create","path":"/a","data":"dg==","mode":"persistent","ttlMs":-1}],"multi":false,"sessionId":0,"auth":[]}}';
    expect(decodeTxn(old)).toEqual(envelope(false));
  });
});

describe('quota warnings', () => {
  const note = (root: string, what: 'count' | 'bytes' = 'count', refused = false): QuotaExceeded =>
    ({ root, what, value: 3, limit: 2, hard: refused, refused });
  const output = (...quotaExceeded: QuotaExceeded[]): ApplyOutput => ({ events: [], quotaExceeded });

  function warnings() {
    const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
    let now = 0;
    const logger = { warn: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }) };
    const applier = new QuotaWarnings(logger as never, () => now, 10_000);
    return { applier, lines, at: (ms: number) => (now = ms) };
  }

  it('logs a WARN in ZooKeeper 3.6\'s words for a limit passed', () => {
    const { applier, lines } = warnings();
    applier.applied(output(note('/p')));
    expect(lines).toEqual([{
      fields: { event: 'quotaExceeded', root: '/p', what: 'count', value: 3, limit: 2, hard: false, refused: false },
      message: 'Quota exceeded: /p count=3 limit=2',
    }]);
  });

  it('logs nothing for a txn that passed no limit', () => {
    const { applier, lines } = warnings();
    applier.applied({ events: [] });
    expect(lines).toEqual([]);
  });

  it('logs at most one line per quota root per interval, then says how many it left out', () => {
    const { applier, lines, at } = warnings();
    for (let i = 0; i < 100; i++) {
      at(i * 10);
      applier.applied(output(note('/p'), note('/p', 'bytes')));
    }
    applier.applied(output(note('/q', 'count', true)));
    expect(lines.map((l) => l.message)).toEqual(['Quota exceeded: /p count=3 limit=2', 'Quota exceeded: /q count=3 limit=2']);
    at(10_000);
    applier.applied(output(note('/p', 'bytes')));
    expect(lines[2]).toMatchObject({ fields: { root: '/p', what: 'bytes', suppressed: 199 } });
    at(10_001);
    applier.applied(output(note('/p')));
    expect(lines).toHaveLength(3);
  });
});

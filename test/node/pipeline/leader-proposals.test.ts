import { describe, expect, it } from 'vitest';
import { OPEN_ACL } from '../../../src/core/acl/acl.ts';
import { zkError } from '../../../src/core/errors.ts';
import { DataTree } from '../../../src/core/tree/data-tree.ts';
import type { TxnEnvelope } from '../../../src/core/tree/txn.ts';
import { NotCommittedError } from '../../../src/node/node-host.ts';
import { LeaderProposals } from '../../../src/node/pipeline/leader-proposals.ts';
import type { ClientTxn, ProposalRequest } from '../../../src/node/pipeline/proposal.ts';

const NOW_MS = 5000;
const limits = { maxDataBytes: 8, tickTimeMs: 1000, maxSessions: 10, maxWatchesPerSession: 4 };
const data = (s: string) => new TextEncoder().encode(s);

function leader(role: 'leader' | 'follower' = 'leader', failWith?: NotCommittedError) {
  const tree = new DataTree();
  const submitted: TxnEnvelope[] = [];
  const heard: number[] = [];
  const deadlines: number[] = [];
  const sweeps: number[] = [];
  const host = {
    tree, appliedZxid: 77, status: () => ({ role }),
    expireOverdue: (nowMs: number) => void sweeps.push(nowMs),
    submit: (envelope: TxnEnvelope, deadlineMs?: number) => {
      submitted.push(envelope);
      deadlines.push(deadlineMs ?? Infinity);
      if (failWith) return Promise.reject(failWith);
      const zxid = tree.appliedZxid + 1;
      return Promise.resolve({ zxid, result: tree.apply(zxid, envelope).result });
    },
  };
  const sessions = {
    heardFrom: (id: number) => (id === 5 ? (heard.push(id), undefined) : id === 6 ? zkError('SESSIONEXPIRED', 'ended') : zkError('UNKNOWNSESSION', 'unknown')),
  };
  return { side: new LeaderProposals({ host, sessions, nowMs: () => NOW_MS, limits }), submitted, heard, deadlines, sweeps };
}

const txnRequest = (txn: ClientTxn, deadlineMs = NOW_MS + 1000): ProposalRequest => ({ proposal: { type: 'txn', txn }, identities: [], deadlineMs });
const create = (path: string, value = 'x'): ClientTxn => ({ type: 'write', ops: [{ type: 'create', path, data: data(value), mode: 'persistent', ttlMs: -1, acl: OPEN_ACL }], multi: false, sessionId: 0 });

describe('LeaderProposals', () => {
  it('stamps the leader\'s clock, proposes and answers the zxid and result', async () => {
    const { side, submitted } = leader();
    const outcome = await side.propose(txnRequest(create('/a')));
    expect(outcome).toMatchObject({ ok: true, zxid: 1, result: { ok: true, results: [{ type: 'create', path: '/a' }] } });
    expect(submitted[0]!.timeMs).toBe(NOW_MS);
  });

  it('stamps the txn\'s auth from the request\'s identities', async () => {
    const { side, submitted } = leader();
    const identities = ['digest:bob:HASH', 'ip:10.0.0.1'];
    await side.propose({ ...txnRequest(create('/a')), identities });
    expect(submitted[0]!.txn).toMatchObject({ type: 'write', auth: identities });
  });

  it('takes a session-less request id only in the namespace of one of the caller\'s identities', async () => {
    const { side, submitted } = leader();
    const tagged = (client: string) => ({ ...create(`/${client.length}`), request: { client, id: 'r1' } }) as ClientTxn;
    const identities = ['digest:bob:HASH', 'ip:10.0.0.1'];
    const claimed = await side.propose({ ...txnRequest(tagged('ip:10.0.0.2')), identities });
    expect(claimed).toMatchObject({ ok: false, error: { code: 'BADARGUMENTS' } });
    expect(await side.propose({ ...txnRequest(tagged('session:4')), identities })).toMatchObject({ ok: false, error: { code: 'BADARGUMENTS' } });
    expect(submitted).toEqual([]);
    expect(await side.propose({ ...txnRequest(tagged('digest:bob:HASH')), identities })).toMatchObject({ ok: true });
  });

  it('proposes with the request\'s deadline, and sweeps the host\'s overdue proposals on the leader\'s clock', async () => {
    const { side, deadlines, sweeps } = leader();
    await side.propose(txnRequest(create('/a'), NOW_MS + 250));
    expect(deadlines).toEqual([NOW_MS + 250]);
    side.expireOverdue();
    expect(sweeps).toEqual([NOW_MS]);
  });

  it('refuses a proposal past its deadline without proposing it', async () => {
    const { side, submitted } = leader();
    const outcome = await side.propose(txnRequest(create('/a'), NOW_MS));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'CONNECTIONLOSS', message: expect.stringContaining('not applied') } });
    expect(submitted).toEqual([]);
  });

  it('refuses a proposal when this member is not the leader', async () => {
    const { side, submitted } = leader('follower');
    expect(await side.propose(txnRequest(create('/a')))).toMatchObject({ ok: false, error: { code: 'CONNECTIONLOSS' } });
    expect(submitted).toEqual([]);
  });

  const invalid: ReadonlyArray<readonly [string, ClientTxn, number?]> = [
    ['a bad path', create('/a/')],
    ['data over the limit', create('/a', 'nine bytes')],
    ['a version that is not a 32-bit integer', { type: 'write', ops: [{ type: 'delete', path: '/a', version: 2 ** 40 }], multi: false, sessionId: 0 }],
    ['an ephemeral without a session', { type: 'write', ops: [{ type: 'create', path: '/e', data: data(''), mode: 'ephemeral', ttlMs: -1, acl: OPEN_ACL }], multi: false, sessionId: 0 }],
    ['a bad op inside a multi (named)', { type: 'write', ops: [{ type: 'check', path: '/', version: 0 }, { type: 'check', path: 'x', version: 0 }], multi: true, sessionId: 0 }, 1],
    ['two ops without multi', { type: 'write', ops: [{ type: 'check', path: '/', version: 0 }, { type: 'check', path: '/', version: 0 }], multi: false, sessionId: 0 }],
    ['a request id in another session\'s namespace', { ...create('/a'), sessionId: 3, request: { client: 'session:4', id: 'r' } } as ClientTxn],
    ['a timeout no negotiation gives', { type: 'createSession', timeoutMs: 1, tokenHash: 'a'.repeat(64) }],
    ['a token hash that is not one', { type: 'createSession', timeoutMs: 2000, tokenHash: 'xyz' }],
    ['a client\'s expiry', { type: 'closeSession', sessionId: 3, reason: 'expired' }],
    ['a watch on a bad path', { type: 'watch', sessionId: 3, request: { op: 'exists', path: 'a' } }],
  ];
  it.each(invalid)('refuses %s with BADARGUMENTS, proposing nothing', async (_what, txn, failedOp) => {
    const { side, submitted } = leader();
    const outcome = await side.propose(txnRequest(txn as ClientTxn));
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BADARGUMENTS' } });
    if (failedOp !== undefined) expect(outcome).toMatchObject({ failedOp });
    expect(submitted).toEqual([]);
  });

  it('answers a keepalive without the log: the session is heard from, the zxid is the applied one', async () => {
    const { side, submitted, heard } = leader();
    const outcome = await side.propose({ proposal: { type: 'keepalive', sessionId: 5 }, identities: [], deadlineMs: NOW_MS + 1 });
    expect(outcome).toEqual({ ok: true, zxid: 77, result: { ok: true, sessionId: 5 } });
    expect(heard).toEqual([5]);
    expect(submitted).toEqual([]);
  });

  it('answers a keepalive of an unknown or ended session with its error', async () => {
    const { side } = leader();
    const of = (sessionId: number) => side.propose({ proposal: { type: 'keepalive', sessionId }, identities: [], deadlineMs: NOW_MS + 1 });
    expect(await of(9)).toMatchObject({ ok: false, error: { code: 'UNKNOWNSESSION' } });
    expect(await of(6)).toMatchObject({ ok: false, error: { code: 'SESSIONEXPIRED' } });
  });

  it('answers a write the log could not order with its error', async () => {
    const { side } = leader('leader', new NotCommittedError(zkError('CONNECTIONLOSS', 'leadership changed')));
    expect(await side.propose(txnRequest(create('/a')))).toEqual({ ok: false, error: { code: 'CONNECTIONLOSS', message: 'leadership changed' } });
  });
});

/**
 * PLACEHOLDER until the forwarding branch lands: orders proposals on the leader only.
 */
import { zkError } from '../../core/errors.ts';
import { prepareWrite } from '../../core/tree/prepare.ts';
import { NotCommittedError, type NodeHost } from '../node-host.ts';
import type { ProposalOutcome, ProposalRequest, Proposer } from './proposal.ts';

export class Pipeline implements Proposer {
  constructor(private readonly host: NodeHost, private readonly nowMs: () => number, private readonly maxDataBytes: number) {}

  async propose(request: ProposalRequest): Promise<ProposalOutcome> {
    const { proposal } = request;
    if (proposal.type === 'keepalive') return { ok: true, zxid: this.host.appliedZxid, result: undefined };
    const { txn } = proposal;
    let envelope = { timeMs: this.nowMs(), txn: txn as typeof txn };
    if (txn.type === 'write') {
      const prepared = prepareWrite(txn.ops, txn.multi, { timeMs: this.nowMs(), sessionId: txn.sessionId, maxDataBytes: this.maxDataBytes, request: txn.request });
      if (!prepared.ok) return { ok: true, zxid: this.host.appliedZxid, result: prepared };
      envelope = prepared.envelope as typeof envelope;
    }
    try {
      const { zxid, result } = await this.host.submit(envelope);
      return { ok: true, zxid, result };
    } catch (error) {
      if (error instanceof NotCommittedError) return { ok: false, error: error.error };
      return { ok: false, error: zkError('SYSTEMERROR', String(error)) };
    }
  }
}

import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observability/logger.ts';
import { Pipeline } from '../../../src/node/pipeline/pipeline.ts';
import { ProposalForwarder } from '../../../src/node/pipeline/proposal-forwarder.ts';
import type { ProposalOutcome, ProposalRequest } from '../../../src/node/pipeline/proposal.ts';
import { SimTimers } from '../../sim/node-timers.ts';

const request: ProposalRequest = { proposal: { type: 'keepalive', sessionId: 7 }, identities: [], deadlineMs: 1000 };
const ok: ProposalOutcome = { ok: true, zxid: 3, result: { ok: true, sessionId: 7 } };

function pipeline(role: 'leader' | 'follower', leaderAtStart: number, clustered = true) {
  const view = { leader: leaderAtStart };
  const clock = { now: 0 };
  const timers = new SimTimers(() => clock.now);
  const proposals: Array<{ to: number; id: string }> = [];
  const answers: Array<{ to: number; id: string; outcome: ProposalOutcome }> = [];
  const proposed: ProposalRequest[] = [];
  const answer: Promise<ProposalOutcome> = Promise.resolve(ok);
  const link = {
    sendProposal: (to: number, id: string) => (proposals.push({ to, id }), 'sent' as const),
    sendAnswer: (to: number, id: string, outcome: ProposalOutcome) => void answers.push({ to, id, outcome }),
  };
  const forwarder = clustered
    ? new ProposalForwarder({ send: link.sendProposal, nowMs: () => clock.now, timers, waitForApplied: () => Promise.resolve(), appliedWaitMs: 100 })
    : undefined;
  const sweeps = { count: 0 };
  const leaderSide = { propose: (r: ProposalRequest) => (proposed.push(r), answer), expireOverdue: () => void sweeps.count++ };
  const p = new Pipeline({
    status: () => ({ role, leader: view.leader }), leader: leaderSide, forwarder, link: clustered ? link : undefined,
    logger: createLogger('silent'),
  });
  const advance = (ms: number) => {
    clock.now += ms;
    timers.fire();
  };
  return { p, view, proposals, answers, proposed, advance, sweeps };
}

describe('Pipeline', () => {
  it('proposes on the leader directly', async () => {
    const { p, proposed, proposals } = pipeline('leader', 1);
    expect(await p.propose(request)).toEqual(ok);
    expect(proposed).toEqual([request]);
    expect(proposals).toEqual([]);
  });

  it('is its own leader in a cluster of one', async () => {
    const { p, proposed } = pipeline('follower', 0, false);
    expect(await p.propose(request)).toEqual(ok);
    expect(proposed).toHaveLength(1);
  });

  it('forwards to the leader from a follower and answers the leader\'s outcome', async () => {
    const { p, proposals, proposed } = pipeline('follower', 2);
    const pending = p.propose(request);
    expect(proposals).toEqual([{ to: 2, id: expect.any(String) }]);
    p.receivedAnswer(2, proposals[0]!.id, ok);
    expect(await pending).toEqual(ok);
    expect(proposed).toEqual([]);
  });

  it('refuses at once with CONNECTIONLOSS when no leader is known', async () => {
    const { p, proposals } = pipeline('follower', 0);
    expect(await p.propose(request)).toEqual({ ok: false, error: { code: 'CONNECTIONLOSS', message: 'no leader right now (an election is under way); retry' } });
    expect(proposals).toEqual([]);
  });

  it('ends its own overdue proposals on every tick, leader or not (NodeHost.expireOverdue bounds them)', () => {
    for (const role of ['leader', 'follower'] as const) {
      const { p, sweeps } = pipeline(role, 1);
      p.tick();
      p.tick();
      expect(sweeps.count).toBe(2);
    }
  });

  it('proposes a forwarded proposal once however often it is delivered, and answers the sender', async () => {
    const { p, proposed, answers } = pipeline('leader', 1);
    p.receivedProposal(2, 'n.1', request);
    p.receivedProposal(2, 'n.1', request);
    p.receivedProposal(3, 'n.1', request);
    await new Promise((resolve) => setImmediate(resolve));
    expect(proposed).toHaveLength(2);
    expect(answers).toEqual([{ to: 2, id: 'n.1', outcome: ok }, { to: 3, id: 'n.1', outcome: ok }]);
    expect(p.counts.duplicates).toBe(1);
  });

  it('answers a forwarded proposal at once with CONNECTIONLOSS, not applied, when it does not lead', () => {
    const { p, proposed, answers } = pipeline('follower', 2);
    p.receivedProposal(3, 'n.1', request);
    expect(proposed).toEqual([]);
    expect(answers).toEqual([{ to: 3, id: 'n.1', outcome: { ok: false, error: expect.objectContaining({ code: 'CONNECTIONLOSS', message: expect.stringContaining('not applied') }) } }]);
  });

  it('ends a forward in flight when the leader changes, at the next tick', async () => {
    const { p, view } = pipeline('follower', 2);
    const pending = p.propose(request);
    p.tick();
    expect(p.counts.lost).toBe(0);
    view.leader = 3;
    p.tick();
    expect(await pending).toMatchObject({ ok: false, error: { code: 'CONNECTIONLOSS', message: expect.stringContaining('leader changed') } });
  });
});

import { describe, expect, it } from 'vitest';
import { ProposalForwarder } from '../../../src/node/pipeline/proposal-forwarder.ts';
import type { ProposalOutcome, ProposalRequest } from '../../../src/node/pipeline/proposal.ts';
import type { SendOutcome } from '../../../src/transport/peer-transport.ts';
import { SimTimers } from '../../sim/node-timers.ts';

const request: ProposalRequest = { proposal: { type: 'keepalive', sessionId: 7 }, identities: [], deadlineMs: 1000 };
const answer: ProposalOutcome = { ok: true, zxid: 42, result: { ok: true, sessionId: 7 } };

function forwarder(outcome: SendOutcome = 'sent', applied = { zxid: 100 }) {
  const sent: Array<{ to: number; id: string; request: ProposalRequest }> = [];
  const clock = { now: 0 };
  const timers = new SimTimers(() => clock.now);
  const waits: Array<{ zxid: number; release: () => void }> = [];
  const f = new ProposalForwarder({
    send: (to, id, r) => (sent.push({ to, id, request: r }), outcome), nowMs: () => clock.now, timers, appliedWaitMs: 500,
    waitForApplied: (zxid) => (zxid <= applied.zxid ? Promise.resolve() : new Promise<void>((release) => waits.push({ zxid, release }))),
  });
  const advance = (ms: number) => {
    clock.now += ms;
    timers.fire();
  };
  return { f, sent, advance, waits };
}

async function settled(promise: Promise<ProposalOutcome>): Promise<ProposalOutcome | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

describe('ProposalForwarder', () => {
  it('sends the proposal to the leader and answers the outcome once this member applied its zxid', async () => {
    const { f, sent } = forwarder();
    const pending = f.forward(1, request);
    expect(sent).toEqual([{ to: 1, id: expect.any(String), request }]);
    f.answered(1, sent[0]!.id, answer);
    expect(await pending).toEqual(answer);
    expect(f.inFlight).toBe(0);
  });

  it('waits for this member to apply the zxid, and answers ok past the bound anyway', async () => {
    const { f, sent, advance, waits } = forwarder('sent', { zxid: 0 });
    const pending = f.forward(1, request);
    f.answered(1, sent[0]!.id, answer);
    expect(await settled(pending)).toBe('pending');
    expect(waits.map((w) => w.zxid)).toEqual([42]);
    advance(500);
    expect(await settled(pending)).toEqual(answer);
  });

  it('ignores an answer from a member it did not ask, to an id it does not know, or a second one', async () => {
    const { f, sent } = forwarder();
    const pending = f.forward(1, request);
    f.answered(3, sent[0]!.id, answer);
    f.answered(1, `${sent[0]!.id}0`, answer);
    expect(await settled(pending)).toBe('pending');
    f.answered(1, sent[0]!.id, { ok: false, error: { code: 'CONNECTIONLOSS', message: 'first' } });
    f.answered(1, sent[0]!.id, answer);
    expect(await pending).toMatchObject({ ok: false, error: { message: 'first' } });
  });

  it('gives every proposal a distinct id, and another forwarder (a restart) other ids', () => {
    const a = forwarder();
    const b = forwarder();
    void a.f.forward(1, request);
    void a.f.forward(1, request);
    void b.f.forward(1, request);
    expect(new Set([...a.sent, ...b.sent].map((m) => m.id)).size).toBe(3);
    a.f.close();
    b.f.close();
  });

  it('ends with CONNECTIONLOSS, never applied, when the proposal cannot be sent', async () => {
    const { f } = forwarder('disconnected');
    expect(await f.forward(1, request)).toMatchObject({ ok: false, error: { code: 'CONNECTIONLOSS', message: expect.stringContaining('not applied') } });
  });

  it('ends with CONNECTIONLOSS when the link to the leader drops, not for a link to another member', async () => {
    const { f } = forwarder();
    const pending = f.forward(1, request);
    f.linkDown(2);
    expect(await settled(pending)).toBe('pending');
    f.linkDown(1);
    expect(await pending).toMatchObject({ ok: false, error: { code: 'CONNECTIONLOSS' } });
  });

  it('ends with CONNECTIONLOSS when the leader changes', async () => {
    const { f } = forwarder();
    const pending = f.forward(1, request);
    f.leaderIs(1);
    expect(await settled(pending)).toBe('pending');
    f.leaderIs(2);
    expect(await pending).toMatchObject({ ok: false, error: { code: 'CONNECTIONLOSS', message: expect.stringContaining('leader changed') } });
  });

  it('ends with CONNECTIONLOSS at its deadline, and refuses one already past it without sending', async () => {
    const { f, sent, advance } = forwarder();
    const pending = f.forward(1, request);
    advance(999);
    expect(await settled(pending)).toBe('pending');
    advance(1);
    expect(await pending).toMatchObject({ ok: false, error: { code: 'CONNECTIONLOSS', message: expect.stringContaining('deadline') } });
    expect(await f.forward(1, request)).toMatchObject({ ok: false, error: { code: 'CONNECTIONLOSS' } });
    expect(sent).toHaveLength(1);
  });

  it('ends every proposal in flight when it closes', async () => {
    const { f } = forwarder();
    const both = Promise.all([f.forward(1, request), f.forward(1, request)]);
    f.close();
    expect((await both).every((o) => !o.ok)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import type { ForwardedRequest } from '../../src/node/forward-codec.ts';
import { WriteForwarder, type ForwardOutcome } from '../../src/node/write-forwarder.ts';
import type { SendOutcome } from '../../src/transport/peer-transport.ts';

const request = { method: 'PUT', target: '/v1/znodes/a?version=1', headers: [['content-type', 'text/plain']] as const, body: new Uint8Array([1, 2]) };
const answer = { status: 200, headers: [['zk-zxid', '7']] as const, body: new Uint8Array([3]) };

function forwarder(outcome: SendOutcome = 'sent') {
  const sent: Array<{ to: number; id: string; request: ForwardedRequest }> = [];
  let now = 0;
  const f = new WriteForwarder({ send: (to, id, r) => (sent.push({ to, id, request: r }), outcome), nowMs: () => now, timeoutMs: 1000 });
  return { f, sent, advance: (ms: number) => (now += ms) };
}

/** Whether `promise` has settled, and with what, once pending callbacks have run. */
async function settled(promise: Promise<ForwardOutcome>): Promise<ForwardOutcome | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

describe('WriteForwarder', () => {
  it('sends the request to the leader and resolves with the answer to its id', async () => {
    const { f, sent } = forwarder();
    const pending = f.forward(1, request);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ to: 1, request });
    f.answered(1, sent[0]!.id, answer);
    expect(await pending).toEqual({ ok: true, response: answer });
    expect(f.inFlight).toBe(0);
  });

  it('ignores an answer from a member it did not ask, or to an id it does not know', async () => {
    const { f, sent } = forwarder();
    const pending = f.forward(1, request);
    f.answered(3, sent[0]!.id, answer);
    f.answered(1, `${sent[0]!.id}0`, answer);
    expect(await settled(pending)).toBe('pending');
    f.close();
  });

  it('gives every request a distinct id, and another forwarder (a restart) other ids', () => {
    const a = forwarder();
    const b = forwarder();
    void a.f.forward(1, request);
    void a.f.forward(1, request);
    void b.f.forward(1, request);
    const ids = [...a.sent, ...b.sent].map((m) => m.id);
    expect(new Set(ids).size).toBe(3);
    a.f.close();
    b.f.close();
  });

  it('ends a request as lost at once when it cannot be sent', async () => {
    const { f } = forwarder('disconnected');
    expect(await f.forward(1, request)).toEqual({ ok: false, lost: 'could not send to the leader (disconnected)' });
    expect(f.inFlight).toBe(0);
  });

  it('ends the requests sent on a link when that link goes down, and only those', async () => {
    const { f } = forwarder();
    const toOne = f.forward(1, request);
    const toThree = f.forward(3, request);
    f.linkDown(1);
    expect(await toOne).toMatchObject({ ok: false, lost: 'lost the connection to the leader' });
    expect(await settled(toThree)).toBe('pending');
    f.close();
    expect(await toThree).toMatchObject({ ok: false, lost: 'this member is shutting down' });
  });

  it('ends a request when its leader is no longer the leader, or past the deadline', async () => {
    const { f, advance } = forwarder();
    const toOne = f.forward(1, request);
    const toThree = f.forward(3, request);
    f.tick(3);
    expect(await toOne).toMatchObject({ ok: false, lost: 'the leader changed' });
    advance(999);
    f.tick(3);
    expect(await settled(toThree)).toBe('pending');
    advance(1);
    f.tick(3);
    expect(await toThree).toMatchObject({ ok: false, lost: 'the leader did not answer in time' });
  });

  it('ignores the answer to a request it already gave up on', async () => {
    const { f, sent } = forwarder();
    const pending = f.forward(1, request);
    f.linkDown(1);
    f.answered(1, sent[0]!.id, answer);
    expect(await pending).toMatchObject({ ok: false });
  });
});

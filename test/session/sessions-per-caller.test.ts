// The per-caller session limit of the session manager (src/node/session-manager.ts): opens in
// flight count until their session is tracked, so a burst gets exactly the limit; a session
// counts against the caller that opened it until it ends, across a restart too (the counts
// are rebuilt from the replicated session table).
import { afterEach, describe, expect, it } from 'vitest';
import { limitKeyOf } from '../../src/http/limits/caller-key.ts';
import { waitFor } from '../support/corral-process.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';
import { as, call, openSession } from './session-helpers.ts';

const LIMIT = 3;
let t: TestNode | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const open = (node: TestNode) => call(node, 'POST', '/v1/sessions', { body: { timeoutMs: 4000 } });
/** In-process requests have no socket: every one is the same caller, `ip:unknown`. */
const CALLER = limitKeyOf([]);

describe('sessions per caller', () => {
  it('gives a burst of concurrent opens exactly maxSessionsPerCaller sessions, the rest 429 with Retry-After', async () => {
    t = startTestNode({ tickTimeMs: 200, maxSessionsPerCaller: LIMIT });
    const node = t;
    const answers = await Promise.all(Array.from({ length: 12 }, () => open(node)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(LIMIT);
    for (const refused of answers.filter((a) => a.status !== 201)) {
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('THROTTLEDOP');
      expect(refused.body.message).toContain('per caller');
      expect(refused.headers.get('retry-after')).toBe('1');
    }
    expect(node.node.sessions.sessionsOfCaller(CALLER)).toBe(LIMIT);
  });

  it('makes room when a session closes or expires, and not before', async () => {
    t = startTestNode({ tickTimeMs: 100, maxSessionsPerCaller: 2 });
    const first = await openSession(t, 4000);
    await openSession(t, 200);
    expect((await open(t)).status).toBe(429);
    expect((await call(t, 'DELETE', `/v1/sessions/${first.id}`, { headers: as(first) })).status).toBe(204);
    expect((await open(t)).status).toBe(201);
    expect((await open(t)).status).toBe(429);
    // The 200 ms session expires (nobody keeps it alive): then one more fits.
    const node = t;
    await waitFor(() => node.node.sessions.sessionsOfCaller(CALLER) < 2, { timeoutMs: 5000, what: 'the short session to expire' });
    expect((await open(t)).status).toBe(201);
  });

  it('counts the sessions recovered after a restart against the caller that opened them', async () => {
    t = startTestNode({ tickTimeMs: 2000, maxSessionsPerCaller: 2 });
    await openSession(t, 40_000);
    await openSession(t, 40_000);
    const dir = t.dir;
    await t.close(true);
    t = startTestNode({ tickTimeMs: 2000, maxSessionsPerCaller: 2 }, dir);
    const node = t;
    // Until the restarted node leads again, an open is 503; then it is judged.
    const answer = await waitFor(async () => {
      const res = await open(node);
      return res.status !== 503 && res;
    }, { timeoutMs: 5000, what: 'the restarted node to take an open' });
    expect(answer.status).toBe(429);
    expect(node.node.sessions.sessionsOfCaller(CALLER)).toBe(2);
  });

  it('refuses nobody at 0', async () => {
    t = startTestNode({ tickTimeMs: 200, maxSessionsPerCaller: 0 });
    const node = t;
    const answers = await Promise.all(Array.from({ length: 12 }, () => open(node)));
    expect(answers.every((a) => a.status === 201)).toBe(true);
  });
});

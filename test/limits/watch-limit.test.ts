// The per-session watch limit under concurrency (src/node/pipeline/leader-proposals.ts): watch
// registrations in flight are counted, so a burst cannot pass the limit between the check and
// the apply. Regression: before reservations, 208 of 400 concurrent addWatch calls passed a limit of 200.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { as, call, openSession } from '../session/session-helpers.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';

const LIMIT = 5;
let t: TestNode;
beforeEach(() => {
  t = startTestNode({ tickTimeMs: 200, maxWatchesPerSession: LIMIT });
});
afterEach(async () => {
  await t.close();
});

describe('the per-session watch limit', () => {
  it('accepts exactly maxWatchesPerSession of many concurrent addWatch calls and refuses the rest with 429 and Retry-After', async () => {
    const s = await openSession(t, 4000);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      call(t, 'POST', `/v1/sessions/${s.id}/watches`, { headers: as(s), body: { path: `/w${i}`, mode: 'persistent' } })));
    const accepted = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status !== 201);
    expect(accepted).toHaveLength(LIMIT);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.body.code).toBe('THROTTLEDOP');
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    expect(t.node.host.tree.watches.count(Number(s.id))).toBe(LIMIT);
  });

  it('holds the limit for concurrent watched reads too, and counts a repeated watch once', async () => {
    for (let i = 0; i < 20; i++) expect((await call(t, 'POST', `/v1/znodes/n${i}`, { body: '' })).status).toBe(201);
    const s = await openSession(t, 4000);
    const reads = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => call(t, 'GET', `/v1/znodes/n${i}?watch=true`, { headers: as(s) })),
      ...Array.from({ length: 10 }, () => call(t, 'GET', '/v1/znodes/n0?watch=true', { headers: as(s) })),
    ]);
    expect(reads.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(LIMIT);
    expect(reads.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    expect(t.node.host.tree.watches.count(Number(s.id))).toBe(LIMIT);
  });

  it('frees the reservation of a watch that was refused, so the limit is reached again after a removal', async () => {
    const s = await openSession(t, 4000);
    await Promise.all(Array.from({ length: 10 }, (_, i) =>
      call(t, 'POST', `/v1/sessions/${s.id}/watches`, { headers: as(s), body: { path: `/w${i}`, mode: 'persistent' } })));
    const held = t.node.host.tree.watches.all().filter((w) => w.sessionId === Number(s.id));
    expect(held).toHaveLength(LIMIT);
    expect((await call(t, 'DELETE', `/v1/sessions/${s.id}/watches?path=${held[0]!.path}&type=any`, { headers: as(s) })).status).toBe(204);
    expect((await call(t, 'POST', `/v1/sessions/${s.id}/watches`, { headers: as(s), body: { path: '/again', mode: 'persistent' } })).status).toBe(201);
    expect((await call(t, 'POST', `/v1/sessions/${s.id}/watches`, { headers: as(s), body: { path: '/more', mode: 'persistent' } })).status).toBe(429);
  });
});

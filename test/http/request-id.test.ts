/**
 * Zk-Request-Id: a write retried with the same id is applied once and answered as the first time.
 * On a gateway (test/backend/zookeeper/request-id.gateway.e2e.test.ts runs this file with the
 * gateway harness) the id is checked but not remembered: ZooKeeper has no request ids, so a
 * retried write is applied again (docs/operations.md, the gateway table); that run asserts so.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, startTestNode, type TestNode } from '../support/test-node.ts';

let t: TestNode;
beforeEach(() => {
  t = startTestNode();
});
afterEach(async () => {
  await t.close();
});

const withId = (id: string) => ({ 'Zk-Request-Id': id });

/** docs/operations.md: exactly-once on the embedded store, not on a gateway. */
const exactlyOnce = harness === 'embedded';

describe('Zk-Request-Id', () => {
  it('applies writes with different ids separately', async () => {
    await t.request('POST', '/v1/znodes/d', { body: '' });
    await t.request('PUT', '/v1/znodes/d', { body: '1', headers: withId('a') });
    await t.request('PUT', '/v1/znodes/d', { body: '2', headers: withId('b') });
    expect((await t.request('GET', '/v1/stat/d')).body.stat.version).toBe(2);
  });

  it.each([['has space'], ['x'.repeat(129)], ['tab\there']])('refuses a malformed id with 400 BADARGUMENTS: %j', async (id) => {
    const res = await t.request('POST', '/v1/znodes/bad', { body: '', headers: withId(id) });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BADARGUMENTS');
    expect((await t.request('GET', '/v1/znodes/bad')).status).toBe(404);
  });

  it('keeps two sessions\' equal ids apart: each session\'s write is applied', async () => {
    await t.request('POST', '/v1/znodes/shared', { body: '' });
    const sessions = await Promise.all([1, 2].map(async () => (await t.request('POST', '/v1/sessions', { body: { timeoutMs: 10_000 } })).body));
    const as = (s: { id: string; token: string }) => ({ 'zk-session-id': s.id, 'zk-session-token': s.token, ...withId('same-id') });
    const a = await t.request('PUT', '/v1/znodes/shared', { body: 'from a', headers: as(sessions[0]) });
    const b = await t.request('PUT', '/v1/znodes/shared', { body: 'from b', headers: as(sessions[1]) });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.stat.version).toBe(2);
    const read = await t.request('GET', '/v1/znodes/shared');
    expect(read.body.stat.version).toBe(2);
    if (!exactlyOnce) return;
    // And each session's retry still gets its own first answer.
    const retry = await t.request('PUT', '/v1/znodes/shared', { body: 'from a', headers: as(sessions[0]) });
    expect(retry.body).toEqual(a.body);
  });
});

if (exactlyOnce) {
  describe('Zk-Request-Id on the embedded store: exactly-once', () => {
    it('answers a retried create as the first attempt, instead of NODEEXISTS', async () => {
      const first = await t.request('POST', '/v1/znodes/once', { body: 'x', headers: withId('client-1/1') });
      const retry = await t.request('POST', '/v1/znodes/once', { body: 'x', headers: withId('client-1/1') });
      expect(first.status).toBe(201);
      expect(retry.status).toBe(201);
      expect(retry.body).toEqual(first.body);
    });

    it('creates one sequential node for a retried sequential create', async () => {
      const first = await t.request('POST', '/v1/znodes/job-?mode=persistent_sequential', { body: '', headers: withId('q-7') });
      const retry = await t.request('POST', '/v1/znodes/job-?mode=persistent_sequential', { body: '', headers: withId('q-7') });
      expect(retry.body.path).toBe(first.body.path);
      expect((await t.request('GET', '/v1/children')).body.children.filter((c: string) => c.startsWith('job-'))).toHaveLength(1);
    });

    it('applies a retried setData once: the version moves by one', async () => {
      await t.request('POST', '/v1/znodes/v', { body: '' });
      const [a, b] = await Promise.all([
        t.request('PUT', '/v1/znodes/v', { body: 'new', headers: withId('set-1') }),
        t.request('PUT', '/v1/znodes/v', { body: 'new', headers: withId('set-1') }),
      ]);
      expect(a.body.stat).toEqual(b.body.stat);
      expect((await t.request('GET', '/v1/stat/v')).body.stat.version).toBe(1);
    });

    it('answers a retried multi with the first result, even after later writes', async () => {
      const ops = { ops: [{ op: 'create', path: '/m1' }, { op: 'create', path: '/m2' }] };
      const first = await t.request('POST', '/v1/multi', { body: ops, headers: withId('multi-1') });
      await t.request('DELETE', '/v1/znodes/m2');
      const retry = await t.request('POST', '/v1/multi', { body: ops, headers: withId('multi-1') });
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);
      expect((await t.request('GET', '/v1/znodes/m2')).status).toBe(404);
    });

    it('answers an id reused for another operation with 400 BADARGUMENTS and applies nothing', async () => {
      const first = await t.request('POST', '/v1/znodes/first', { body: 'x', headers: withId('reused') });
      expect(first.status).toBe(201);
      const other = await t.request('POST', '/v1/znodes/second', { body: 'x', headers: withId('reused') });
      expect(other.status).toBe(400);
      expect(other.body.code).toBe('BADARGUMENTS');
      expect((await t.request('GET', '/v1/znodes/second')).status).toBe(404);
      const retry = await t.request('POST', '/v1/znodes/first', { body: 'x', headers: withId('reused') });
      expect(retry.body).toEqual(first.body);
    });

    const KINDS = [
      ['create', 'POST', '/v1/znodes/k2', 'x'],
      ['setData', 'PUT', '/v1/znodes/k', 'y'],
      ['delete', 'DELETE', '/v1/znodes/k', undefined],
      ['setACL', 'PUT', '/v1/acl/k', 'world:anyone:cdrwa'],
      ['multi', 'POST', '/v1/multi', { ops: [{ op: 'setData', path: '/k', data: 'z' }] }],
      ['sequential create', 'POST', '/v1/znodes/s-?mode=persistent_sequential', ''],
    ] as const;
    const PAIRS = KINDS.flatMap((first) => KINDS.filter((then) => then !== first).map((then) => [first[0], then[0], first, then] as const));
    it.each(PAIRS)('answers an id of a %s reused for a %s with a 4xx, never a 500, and applies nothing', async (_a, _b, first, then) => {
      await t.request('POST', '/v1/znodes/k', { body: 'v' });
      const [, method, url, body] = first;
      const answered = await t.request(method, url, { body, headers: withId('kind-reused'), unchecked: true });
      expect(answered.status).toBeLessThan(300);
      const before = (await t.request('GET', '/v1/children')).body.children;
      const stat = (await t.request('GET', '/v1/stat/k', { unchecked: true })).body.stat;
      const reused = await t.request(then[1], then[2], { body: then[3], headers: withId('kind-reused') });
      expect(reused.status).toBe(400);
      expect(reused.body.code).toBe('BADARGUMENTS');
      expect((await t.request('GET', '/v1/children')).body.children).toEqual(before);
      expect((await t.request('GET', '/v1/stat/k', { unchecked: true })).body.stat).toEqual(stat);
    });
  });
} else {
  describe('Zk-Request-Id on a gateway: checked, not remembered (a retry is applied again)', () => {
    it('answers a retried create with 409 NODEEXISTS, as ZooKeeper answers a second create', async () => {
      const first = await t.request('POST', '/v1/znodes/once', { body: 'x', headers: withId('client-1/1') });
      const retry = await t.request('POST', '/v1/znodes/once', { body: 'x', headers: withId('client-1/1') });
      expect(first.status).toBe(201);
      expect(retry.status).toBe(409);
      expect(retry.body.code).toBe('NODEEXISTS');
    });

    it('creates a second sequential node for a retried sequential create', async () => {
      const first = await t.request('POST', '/v1/znodes/job-?mode=persistent_sequential', { body: '', headers: withId('q-7') });
      const retry = await t.request('POST', '/v1/znodes/job-?mode=persistent_sequential', { body: '', headers: withId('q-7') });
      expect(retry.body.path).not.toBe(first.body.path);
      expect((await t.request('GET', '/v1/children')).body.children.filter((c: string) => c.startsWith('job-'))).toHaveLength(2);
    });

    it('applies a retried setData again: the version moves by two', async () => {
      await t.request('POST', '/v1/znodes/v', { body: '' });
      await t.request('PUT', '/v1/znodes/v', { body: 'new', headers: withId('set-1') });
      const retry = await t.request('PUT', '/v1/znodes/v', { body: 'new', headers: withId('set-1') });
      expect(retry.status).toBe(200);
      expect(retry.body.stat.version).toBe(2);
    });

    it('applies an id reused for another operation, as any write', async () => {
      expect((await t.request('POST', '/v1/znodes/first', { body: 'x', headers: withId('reused') })).status).toBe(201);
      expect((await t.request('POST', '/v1/znodes/second', { body: 'x', headers: withId('reused') })).status).toBe(201);
      expect((await t.request('GET', '/v1/znodes/second')).status).toBe(200);
    });
  });
}

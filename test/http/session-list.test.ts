/**
 * GET /v1/sessions (routes/session-list.ts): the live sessions for operators, as ZooKeeper's
 * `cons`/`dump` show them — id, negotiated timeout, the opener's identities, ephemerals — never a
 * token. Who may: the superuser where there is one, no one on a node that checks identities
 * without one; on an open node a caller on loopback or of the admin listener, or anyone with
 * --open-operator-routes (the rule: operator-only.test.ts); with --admin-listen only on the admin
 * listener. The in-process requests here have no socket (no loopback address), so the open
 * nodes here opt in.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/auth/digest.ts';
import { adminListenerNodes } from '../support/admin-listener.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const SUPER = basic('super', 'test');
const BOB = basic('bob', 'secret');
/** An open node whose operator let callers beyond loopback list sessions. */
const OPEN = { openOperatorRoutes: true };

let t: TestNode | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function open(node: TestNode, headers: Record<string, string> = {}): Promise<{ id: string; token: string }> {
  const res = await node.request('POST', '/v1/sessions', { body: { timeoutMs: 10_000 }, headers });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function createAs(node: TestNode, path: string, mode: string, headers: Record<string, string>, acl?: string): Promise<void> {
  const res = await node.request('POST', `/v1/znodes${path}?mode=${mode}`, { body: '', headers: acl ? { ...headers, 'zk-acl': acl } : headers });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

const asSession = (s: { id: string; token: string }, headers: Record<string, string> = {}) => ({ ...headers, 'zk-session-id': s.id, 'zk-session-token': s.token });

describe('GET /v1/sessions', () => {
  it('lists two sessions with their ephemerals and identities, and no token anywhere in the body', async () => {
    t = startTestNode({ superDigest: digestOf('super', 'test') });
    const bobs = await open(t, BOB);
    const anonymous = await open(t);
    await createAs(t, '/svc', 'persistent', SUPER);
    await createAs(t, '/svc/bob-1', 'ephemeral', asSession(bobs, BOB));
    await createAs(t, '/svc/bob-2', 'ephemeral', asSession(bobs, BOB));
    await createAs(t, '/svc/anon', 'ephemeral', asSession(anonymous));

    const res = await t.request('GET', '/v1/sessions', { headers: SUPER });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      more: false,
      sessions: [
        { id: bobs.id, timeoutMs: 10_000, identities: ['digest:bob:x', expect.stringMatching(/^ip:/)], ephemeralCount: 2, ephemerals: ['/svc/bob-1', '/svc/bob-2'] },
        { id: anonymous.id, timeoutMs: 10_000, identities: [expect.stringMatching(/^ip:/)], ephemeralCount: 1, ephemerals: ['/svc/anon'] },
      ],
    });
    const text = Buffer.from(res.bytes).toString('utf8');
    for (const secret of [bobs.token, anonymous.token, digestOf('bob', 'secret').split(':')[1]!]) expect(text).not.toContain(secret);
  });

  it('refuses a caller who is not the superuser with 403 NOAUTH on a node with a superuser', async () => {
    t = startTestNode({ superDigest: digestOf('super', 'test') });
    await open(t, BOB);
    for (const headers of [BOB, {}]) {
      const res = await t.request('GET', '/v1/sessions', { headers });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'NOAUTH', message: 'only the superuser may list sessions' });
      expect(JSON.stringify(res.body)).not.toMatch(/sessions":/);
    }
  });

  it('refuses everyone with 403 NOAUTH on a node that checks identities but has no superuser', async () => {
    t = startTestNode({ authRequired: true });
    const res = await t.request('GET', '/v1/sessions', { headers: BOB });
    expect(res.status).toBe(403);
    expect(res.body.message).toMatch(/no superuser \(--super-digest\): no one may list sessions/);
  });

  it('lets anyone list on an open node (no authentication configured) that opted in with --open-operator-routes', async () => {
    t = startTestNode(OPEN);
    const s = await open(t);
    const res = await t.request('GET', '/v1/sessions');
    expect(res.status).toBe(200);
    expect(res.body.sessions.map((x: { id: string }) => x.id)).toEqual([s.id]);
  });

  it('leaves out an ephemeral whose parent the caller may not READ, and still counts it', async () => {
    t = startTestNode(OPEN);
    const s = await open(t, BOB);
    await createAs(t, '/private', 'persistent', BOB, `digest:${digestOf('bob', 'secret')}:cdrwa`);
    await createAs(t, '/private/lock', 'ephemeral', asSession(s, BOB));
    await createAs(t, '/public', 'persistent', {});
    await createAs(t, '/public/member', 'ephemeral', asSession(s, BOB));
    const anonymous = await t.request('GET', '/v1/sessions');
    expect(anonymous.body.sessions[0]).toMatchObject({ ephemeralCount: 2, ephemerals: ['/public/member'] });
    const owner = await t.request('GET', '/v1/sessions', { headers: BOB });
    expect(owner.body.sessions[0]).toMatchObject({ ephemeralCount: 2, ephemerals: ['/private/lock', '/public/member'] });
  });

  it('pages by id with ?limit= and ?after=, saying more: true while sessions follow', async () => {
    t = startTestNode(OPEN);
    const ids = [(await open(t)).id, (await open(t)).id, (await open(t)).id];
    const first = await t.request('GET', '/v1/sessions?limit=2');
    expect(first.body.sessions.map((x: { id: string }) => x.id)).toEqual(ids.slice(0, 2));
    expect(first.body.more).toBe(true);
    const rest = await t.request('GET', `/v1/sessions?limit=2&after=${ids[1]}`);
    expect(rest.body.sessions.map((x: { id: string }) => x.id)).toEqual([ids[2]]);
    expect(rest.body.more).toBe(false);
  });

  it.each([
    ['limit=0'], ['limit=501'], ['limit=ten'], ['after=-1'], ['after=abc'],
  ])('refuses ?%s with 400 BADARGUMENTS', async (query) => {
    t = startTestNode(OPEN);
    const res = await t.request('GET', `/v1/sessions?${query}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'BADARGUMENTS' });
  });

  it('drops a closed session from the listing', async () => {
    t = startTestNode(OPEN);
    const s = await open(t);
    expect((await t.request('DELETE', `/v1/sessions/${s.id}`, { headers: asSession(s) })).status).toBe(204);
    const res = await t.request('GET', '/v1/sessions');
    expect(res.body.sessions).toEqual([]);
  });
});

describe('GET /v1/sessions with --admin-listen', () => {
  const nodes = adminListenerNodes('corral-admin-sessions-');

  it('answers 404 on the public listener, where POST /v1/sessions still opens sessions, and lists on the admin one', async () => {
    const node = await nodes.start();
    const opened = await node.onPublic('/v1/sessions', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(opened.status).toBe(201);
    const { id } = (await opened.json()) as { id: string };
    const onPublic = await node.onPublic('/v1/sessions');
    expect(onPublic.status).toBe(404);
    expect(await onPublic.json()).toMatchObject({ code: 'UNIMPLEMENTED' });
    const onAdmin = await node.onAdmin('/v1/sessions');
    expect(onAdmin.status).toBe(200);
    expect(((await onAdmin.json()) as { sessions: { id: string }[] }).sessions.map((s) => s.id)).toEqual([id]);
    const openOnAdmin = await node.onAdmin('/v1/sessions', { method: 'POST', body: '{}' });
    expect(openOnAdmin.status).toBe(404);
  });
});

/**
 * The membership routes on one node (the changes themselves: test/consensus/raft-membership.test.ts,
 * the CLI and real processes: test/cli/members-cli.e2e.test.ts, test/cluster/membership.e2e.test.ts):
 * operators only (the rule of operator-only.ts), bad input answered 400 BADARGUMENTS with the
 * contract's body, and the core's refusals mapped to ZooKeeper's reconfig codes; with
 * --admin-listen they are served on the admin listener only (404 on the public one).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/auth/digest.ts';
import { adminListenerNodes } from '../support/admin-listener.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';

const SUPER = { authorization: `Basic ${Buffer.from('super:test').toString('base64')}` };
const BOB = { authorization: `Basic ${Buffer.from('bob:secret').toString('base64')}` };

describe('the membership routes', () => {
  let node: TestNode | undefined;

  afterEach(async () => {
    await node?.close();
    node = undefined;
  });

  it('refuses a caller who is not the superuser with 403 NOAUTH, listing included', async () => {
    node = startTestNode({ superDigest: digestOf('super', 'test') });
    for (const [method, path] of [['GET', '/v1/cluster/members'], ['POST', '/v1/cluster/members'], ['DELETE', '/v1/cluster/members/2']] as const) {
      const body = method === 'POST' ? { body: { id: 2, client: '127.0.0.1:1', peer: '127.0.0.1:2' } } : {};
      const reply = await node.request(method, path, { headers: BOB, ...body });
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({ code: 'NOAUTH', zkCode: -102 });
    }
  });

  it('lists a single node as its one voter, leading', async () => {
    node = startTestNode({ superDigest: digestOf('super', 'test') });
    const reply = await node.request('GET', '/v1/cluster/members', { headers: SUPER });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ voters: [1], learners: [], members: [{ id: 1, role: 'voter', leader: true, self: true, lag: 0, active: true }] });
  });

  it.each([
    ['not JSON', 'POST', '/v1/cluster/members', 'id=2'],
    ['without addresses', 'POST', '/v1/cluster/members', { id: 2 }],
    ['with a client that is not host:port', 'POST', '/v1/cluster/members', { id: 2, client: 'somewhere', peer: '127.0.0.1:9' }],
    ['with a string id', 'POST', '/v1/cluster/members', { id: '2', client: '127.0.0.1:8', peer: '127.0.0.1:9' }],
    ['with a timeout out of range', 'POST', '/v1/cluster/members', { id: 2, client: '127.0.0.1:8', peer: '127.0.0.1:9', timeoutMs: 0 }],
    ['with a member id that is not a number', 'DELETE', '/v1/cluster/members/two', undefined],
    ['promoting a voter', 'POST', '/v1/cluster/members/1/promote', {}],
    ['replacing an unknown member', 'POST', '/v1/cluster/members/7/replace', { id: 8, client: '127.0.0.1:8', peer: '127.0.0.1:9' }],
  ])('answers 400 BADARGUMENTS to a change %s', async (_what, method, path, body) => {
    node = startTestNode({ superDigest: digestOf('super', 'test') });
    const reply = await node.request(method, path, { headers: SUPER, ...(body === undefined ? {} : { body: body as object }) });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: 'BADARGUMENTS', zkCode: -8, message: expect.any(String) });
  });

  it('refuses to add a member to a node started without peers with 409 RECONFIGDISABLED', async () => {
    node = startTestNode({ superDigest: digestOf('super', 'test') });
    const reply = await node.request('POST', '/v1/cluster/members', { headers: SUPER, body: { id: 2, client: '127.0.0.1:8', peer: '127.0.0.1:9' } });
    expect(reply.status).toBe(409);
    expect(reply.body).toMatchObject({ code: 'RECONFIGDISABLED', zkCode: -123 });
    const members = await node.request('GET', '/v1/cluster/members', { headers: SUPER });
    expect(members.body.learners).toEqual([]);
  });

  it('refuses to remove the last voter with 409 NEWCONFIGNOQUORUM', async () => {
    node = startTestNode({ superDigest: digestOf('super', 'test') });
    const last = await node.request('DELETE', '/v1/cluster/members/1', { headers: SUPER });
    expect(last.status).toBe(409);
    expect(last.body).toMatchObject({ code: 'NEWCONFIGNOQUORUM', zkCode: -13, message: expect.stringMatching(/last voter/) });
  });
});

describe('the membership routes with --admin-listen', () => {
  const nodes = adminListenerNodes('corral-admin-members-');
  const json = { 'content-type': 'application/json' };
  const routes = [
    ['GET', '/v1/cluster/members', undefined, 200],
    ['POST', '/v1/cluster/members', { id: 2, client: '127.0.0.1:1', peer: '127.0.0.1:2', timeoutMs: 1000 }, 409],
    ['POST', '/v1/cluster/members/2/promote', { timeoutMs: 1000 }, 400],
    ['DELETE', '/v1/cluster/members/1', undefined, 409],
    ['POST', '/v1/cluster/members/1/replace', { id: 2, client: '127.0.0.1:1', peer: '127.0.0.1:2', timeoutMs: 1000 }, 409],
  ] as const;

  it.each(routes)('answers %s %s with 404 on the public listener and serves it on the admin one', async (method, path, body, onAdminStatus) => {
    const node = await nodes.start();
    const init = { method, headers: json, ...(body === undefined ? {} : { body: JSON.stringify(body) }) };
    const onPublic = await node.onPublic(path, init);
    expect(onPublic.status).toBe(404);
    expect(await onPublic.json()).toMatchObject({ code: 'UNIMPLEMENTED' });
    // On the admin listener the route runs: a single node without peers answers its own refusals.
    const onAdmin = await node.onAdmin(path, init);
    expect(onAdmin.status).toBe(onAdminStatus);
  });
});

/**
 * POST /v1/cluster/leader on one node (the route's checks; the transfer itself is covered by
 * test/consensus/raft-transfer.test.ts and with real processes by
 * test/cluster/leader-transfer.e2e.test.ts): superuser only where there is one, no one on a node
 * that checks identities without a superuser; on an open node, a caller on loopback or of the
 * admin listener (the rule itself: operator-only.test.ts); a body that is not `{"to": id}` is
 * 400; on a node with --admin-listen it answers 404 on the public listener.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/auth/digest.ts';
import { adminListenerNodes } from '../support/admin-listener.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';

const SUPER = { authorization: `Basic ${Buffer.from('super:test').toString('base64')}` };
const BOB = { authorization: `Basic ${Buffer.from('bob:secret').toString('base64')}` };

describe('POST /v1/cluster/leader', () => {
  let node: TestNode | undefined;

  afterEach(async () => {
    await node?.close();
    node = undefined;
  });

  it('refuses a caller who is not the superuser with 403 NOAUTH', async () => {
    node = startTestNode({ superDigest: digestOf('super', 'test') });
    for (const headers of [BOB, {}]) {
      const reply = await node.request('POST', '/v1/cluster/leader', { headers, body: { to: 1 } });
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({ code: 'NOAUTH', message: expect.stringMatching(/only the superuser may move leadership/) });
    }
  });

  it('refuses everyone with 403 NOAUTH on a node that checks identities but has no superuser', async () => {
    node = startTestNode({ authRequired: true });
    const reply = await node.request('POST', '/v1/cluster/leader', { headers: BOB, body: {} });
    expect(reply.status).toBe(403);
    expect(reply.body.message).toMatch(/no superuser \(--super-digest\): no one may move leadership/);
  });

  it('lets the superuser through to the transfer (here 400: a single node has no one to hand over to)', async () => {
    node = startTestNode({ superDigest: digestOf('super', 'test') });
    const reply = await node.request('POST', '/v1/cluster/leader', { headers: SUPER, body: {} });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: 'BADARGUMENTS', message: expect.stringMatching(/one voter/) });
  });

  it.each([
    ['not JSON', 'to=2'],
    ['an array', [2]],
    ['a string id', { to: '2' }],
    ['id 0', { to: 0 }],
  ])('refuses a body that is %s with 400 BADARGUMENTS', async (_what, body) => {
    node = startTestNode({ superDigest: digestOf('super', 'test') });
    const reply = await node.request('POST', '/v1/cluster/leader', { headers: SUPER, body: body as object });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: 'BADARGUMENTS' });
  });
});

describe('POST /v1/cluster/leader with --admin-listen', () => {
  const nodes = adminListenerNodes('corral-admin-leader-');

  it('answers 404 on the public listener and is served on the admin one', async () => {
    const node = await nodes.start();
    const post = { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } };
    const onPublic = await node.onPublic('/v1/cluster/leader', post);
    expect(onPublic.status).toBe(404);
    expect(await onPublic.json()).toMatchObject({ code: 'UNIMPLEMENTED' });
    // On the admin listener the route runs: an open single node has no one to hand over to.
    const onAdmin = await node.onAdmin('/v1/cluster/leader', post);
    expect(onAdmin.status).toBe(400);
  });
});

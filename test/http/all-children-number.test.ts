/**
 * GET /v1/descendants/{path}: ZooKeeper's getAllChildrenNumber (3.6+) — how many nodes are below
 * a node at every depth, the node itself not counted; READ on the node (not on the descendants),
 * as ZooKeeper's FinalRequestProcessor asks; NONODE for a missing node; no watch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/auth/digest.ts';
import { startServedNode, startTestNode, type TestNode } from '../support/test-node.ts';

const BOB = { authorization: `Basic ${Buffer.from('bob:secret').toString('base64')}` };
const BOB_ONLY = `digest:${digestOf('bob', 'secret')}:cdrwa`;

let t: TestNode | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function create(node: TestNode, path: string, headers: Record<string, string> = {}): Promise<void> {
  const reply = await node.request('POST', `/v1/znodes${path}`, { body: '', headers });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
}

/** Every node below `path`, counted by walking getChildren (the slow way the route saves). */
async function walkCount(node: TestNode, path: string): Promise<number> {
  const reply = await node.request('GET', `/v1/children${path === '/' ? '' : path}`);
  expect(reply.status).toBe(200);
  let count = 0;
  for (const name of reply.body.children as string[]) count += 1 + (await walkCount(node, `${path === '/' ? '' : path}/${name}`));
  return count;
}

describe('GET /v1/descendants (getAllChildrenNumber)', () => {
  it('counts the nodes below a node at every depth, not the node itself, and 0 for a leaf', async () => {
    t = startTestNode();
    for (const path of ['/app', '/app/a', '/app/a/x', '/app/a/x/deep', '/app/b', '/app/b/y', '/other']) await create(t, path);
    const app = await t.request('GET', '/v1/descendants/app');
    expect(app.status).toBe(200);
    expect(app.body).toEqual({ path: '/app', count: 5 });
    expect((await t.request('GET', '/v1/descendants/app/a')).body).toEqual({ path: '/app/a', count: 2 });
    expect((await t.request('GET', '/v1/descendants/app/a/x/deep')).body).toEqual({ path: '/app/a/x/deep', count: 0 });
  });

  it('counts every other node below the root, /zookeeper included, as a walk of getChildren does', async () => {
    t = startTestNode();
    for (const path of ['/a', '/a/b', '/c']) await create(t, path);
    const root = await t.request('GET', '/v1/descendants');
    expect(root.status).toBe(200);
    expect(root.body.path).toBe('/');
    expect(root.body.count).toBe(await walkCount(t, '/'));
    expect(root.body.count).toBeGreaterThanOrEqual(3);
    expect((await t.request('GET', '/v1/descendants/')).body).toEqual(root.body);
  });

  it('follows creates and deletes', async () => {
    t = startTestNode();
    await create(t, '/q');
    for (let i = 0; i < 4; i++) await create(t, `/q/item-${i}`);
    expect((await t.request('GET', '/v1/descendants/q')).body.count).toBe(4);
    expect((await t.request('DELETE', '/v1/znodes/q/item-2')).status).toBe(204);
    expect((await t.request('GET', '/v1/descendants/q')).body.count).toBe(3);
  });

  it('answers 404 NONODE for a node that does not exist', async () => {
    t = startTestNode();
    const reply = await t.request('GET', '/v1/descendants/missing/node');
    expect(reply.status).toBe(404);
    expect(reply.body).toMatchObject({ code: 'NONODE', path: '/missing/node' });
  });

  it('refuses a caller without READ on the node with 403 NOAUTH, and lets one with READ count descendants it could not read', async () => {
    t = startTestNode();
    await create(t, '/private', { ...BOB, 'zk-acl': BOB_ONLY });
    await create(t, '/private/a', BOB);
    await create(t, '/open');
    await create(t, '/open/closed', { ...BOB, 'zk-acl': BOB_ONLY });
    await create(t, '/open/closed/inner', BOB);
    const anonymous = await t.request('GET', '/v1/descendants/private');
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toMatchObject({ code: 'NOAUTH' });
    expect(JSON.stringify(anonymous.body)).not.toMatch(/"count"/);
    expect((await t.request('GET', '/v1/descendants/private', { headers: BOB })).body).toEqual({ path: '/private', count: 1 });
    // ZooKeeper asks READ on the node only: the closed child's subtree is counted.
    expect((await t.request('GET', '/v1/descendants/open')).body).toEqual({ path: '/open', count: 2 });
  });

  it('takes ?consistency=linearizable and refuses another consistency with 400 BADARGUMENTS', async () => {
    t = startTestNode();
    await create(t, '/l');
    await create(t, '/l/one');
    expect((await t.request('GET', '/v1/descendants/l?consistency=linearizable')).body).toEqual({ path: '/l', count: 1 });
    const bad = await t.request('GET', '/v1/descendants/l?consistency=eventual');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'BADARGUMENTS' });
  });

  it('refuses a path with an empty segment with 400 BADARGUMENTS', async () => {
    t = startTestNode();
    const reply = await t.request('GET', '/v1/descendants/a//b');
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ code: 'BADARGUMENTS' });
  });
});

describe('GET /v1/descendants over a socket (the direct path)', () => {
  let server: Awaited<ReturnType<typeof startServedNode>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers the same count and NONODE as the in-process app', async () => {
    server = await startServedNode();
    const call = (method: string, path: string) => fetch(`${server!.url}${path}`, { method, body: method === 'POST' ? '' : undefined, signal: AbortSignal.timeout(5000) });
    for (const path of ['/s', '/s/1', '/s/1/2']) expect((await call('POST', `/v1/znodes${path}`)).status).toBe(201);
    const counted = await call('GET', '/v1/descendants/s');
    expect(counted.status).toBe(200);
    expect(await counted.json()).toEqual({ path: '/s', count: 2 });
    const missing = await call('GET', '/v1/descendants/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'NONODE' });
  });
});

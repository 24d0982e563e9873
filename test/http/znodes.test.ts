import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/test-node.ts';

let t: TestNode;
beforeEach(() => {
  t = startTestNode();
});
afterEach(async () => {
  await t.close();
});

const create = (path: string, data = '', query = '') => t.request('POST', `/v1/znodes${path}${query}`, { body: data });

describe('create', () => {
  it('creates a node and answers 201 with its stat and Location', async () => {
    const res = await create('/app', 'hello');
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/v1/znodes/app');
    expect(res.body.path).toBe('/app');
    expect(res.body.stat).toMatchObject({ version: 0, cversion: 0, dataLength: 5, numChildren: 0, ephemeralOwner: '0' });
    expect(res.body.stat.czxid).toBe(res.body.stat.mzxid);
    expect(res.body.stat.pzxid).toBe(res.body.stat.czxid);
  });

  it('fails with NODEEXISTS (409) when the node exists', async () => {
    await create('/a');
    const res = await create('/a');
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'NODEEXISTS', zkCode: -110, path: '/a' });
  });

  it('fails with NONODE (404) when the parent is missing', async () => {
    const res = await create('/missing/child');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NONODE');
  });

  it('appends the parent\'s creation counter to sequential names', async () => {
    await create('/jobs');
    const first = await create('/jobs/', 'a', '?mode=persistent_sequential');
    const second = await create('/jobs/job-', 'b', '?mode=persistent_sequential');
    await t.request('DELETE', '/v1/znodes/jobs/0000000000');
    const third = await create('/jobs/', 'c', '?mode=persistent_sequential');
    expect([first.body.path, second.body.path, third.body.path]).toEqual([
      '/jobs/0000000000', '/jobs/job-0000000001', '/jobs/0000000002',
    ]);
    expect(third.headers.get('location')).toBe('/v1/znodes/jobs/0000000002');
    const parent = await t.request('GET', '/v1/stat/jobs');
    // three creations and one deletion: cversion 4, two children
    expect(parent.body.stat).toMatchObject({ cversion: 4, numChildren: 2 });
  });

  it('creates containers and TTL nodes and refuses a ttl that does not fit the mode', async () => {
    expect((await create('/c', '', '?mode=container')).status).toBe(201);
    expect((await create('/t', '', '?mode=persistent_with_ttl&ttl=60000')).status).toBe(201);
    expect((await create('/t2', '', '?mode=persistent_with_ttl')).body.code).toBe('BADARGUMENTS');
    expect((await create('/t3', '', '?ttl=5')).status).toBe(400);
    expect((await create('/t4', '', '?mode=persistent_sequential_with_ttl&ttl=0')).status).toBe(400);
  });

  it('refuses ephemeral modes without a session (400 BADARGUMENTS)', async () => {
    for (const mode of ['ephemeral', 'ephemeral_sequential']) {
      const res = await create('/e', '', `?mode=${mode}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('BADARGUMENTS');
    }
  });

  it('refuses an unknown mode and invalid paths with 400 BADARGUMENTS', async () => {
    expect((await create('/x', '', '?mode=sticky')).status).toBe(400);
    for (const path of ['/a/', '/a//b', '/a/%00', '/a/%F0%9F%98%80']) {
      const res = await create(path);
      expect(res.status, path).toBe(400);
      expect(res.body.code).toBe('BADARGUMENTS');
    }
  });

  it('answers 413 for data over the limit', async () => {
    const small = startTestNode({ maxDataBytes: 16 });
    try {
      const res = await small.request('POST', '/v1/znodes/big', { body: 'x'.repeat(17) });
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('BADARGUMENTS');
      expect((await small.request('POST', '/v1/znodes/ok', { body: 'x'.repeat(16) })).status).toBe(201);
    } finally {
      await small.close();
    }
  });
});

describe('paths in URLs', () => {
  it('treats %2F as a separator like /', async () => {
    await create('/a');
    await create('/a%2Fb', 'via encoded slash');
    const res = await t.request('GET', '/v1/znodes/a/b');
    expect(res.body).toMatchObject({ path: '/a/b', data: 'via encoded slash' });
    expect((await t.request('GET', '/v1/znodes/a%2fb')).body.path).toBe('/a/b');
  });

  it('percent-encodes names in Location', async () => {
    const res = await create('/with%20space');
    expect(res.body.path).toBe('/with space');
    expect(res.headers.get('location')).toBe('/v1/znodes/with%20space');
  });

  it('refuses malformed percent-encoding with 400', async () => {
    const res = await t.request('GET', '/v1/znodes/%E0%A4%A');
    expect(res.status).toBe(400);
  });
});

describe('getData', () => {
  it('answers utf8 data as text and other bytes as base64', async () => {
    await create('/text', 'héllo');
    await t.request('POST', '/v1/znodes/bin', { body: new Uint8Array([0xff, 0x00, 0xfe]) });
    expect((await t.request('GET', '/v1/znodes/text')).body).toMatchObject({ data: 'héllo', encoding: 'utf8' });
    expect((await t.request('GET', '/v1/znodes/bin')).body).toMatchObject({ data: '/wD+', encoding: 'base64' });
    expect((await t.request('GET', '/v1/znodes/text?encoding=base64')).body).toMatchObject({
      data: Buffer.from('héllo').toString('base64'), encoding: 'base64',
    });
  });

  it('answers raw bytes with an ETag for Accept: application/octet-stream', async () => {
    await t.request('POST', '/v1/znodes/bin', { body: new Uint8Array([1, 2, 3]) });
    const res = await t.request('GET', '/v1/znodes/bin', { headers: { accept: 'application/octet-stream' } });
    expect([...res.bytes]).toEqual([1, 2, 3]);
    expect(res.headers.get('etag')).toBe('"0"');
  });

  it('fails with NONODE (404) for a missing node', async () => {
    const res = await t.request('GET', '/v1/znodes/nope');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'NONODE', zkCode: -101, path: '/nope' });
  });

  it('refuses watch=true without a session', async () => {
    await create('/w');
    expect((await t.request('GET', '/v1/znodes/w?watch=true')).status).toBe(400);
    expect((await t.request('GET', '/v1/znodes/w?watch=maybe')).status).toBe(400);
  });
});

describe('exists', () => {
  it('answers HEAD with 200 and ETag, or 404', async () => {
    await create('/e');
    const head = await t.request('HEAD', '/v1/znodes/e');
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe('"0"');
    expect((await t.request('HEAD', '/v1/znodes/none')).status).toBe(404);
  });

  it('answers /v1/stat with the stat as JSON', async () => {
    await create('/s', 'abc');
    const res = await t.request('GET', '/v1/stat/s');
    expect(res.body).toMatchObject({ path: '/s', stat: { dataLength: 3 } });
    expect((await t.request('GET', '/v1/stat/none')).body.code).toBe('NONODE');
  });
});

describe('getChildren', () => {
  it('lists children sorted, with the parent\'s stat', async () => {
    await create('/p');
    for (const name of ['b', 'a', 'c']) await create(`/p/${name}`);
    const res = await t.request('GET', '/v1/children/p');
    expect(res.body.children).toEqual(['a', 'b', 'c']);
    expect(res.body.stat).toMatchObject({ numChildren: 3, cversion: 3 });
  });

  it('lists the root with the reserved /zookeeper node', async () => {
    const res = await t.request('GET', '/v1/children');
    expect(res.body.children).toEqual(['zookeeper']);
    expect((await t.request('GET', '/v1/children/zookeeper')).body.children).toEqual(['config', 'quota']);
  });
});

describe('setData', () => {
  it('bumps the version and mzxid, keeping czxid', async () => {
    const created = await create('/d', 'one');
    const res = await t.request('PUT', '/v1/znodes/d', { body: 'one' });
    expect(res.status).toBe(200);
    expect(res.body.stat.version).toBe(1);
    expect(res.body.stat.czxid).toBe(created.body.stat.czxid);
    expect(BigInt(res.body.stat.mzxid)).toBeGreaterThan(BigInt(created.body.stat.mzxid));
    expect(res.headers.get('etag')).toBe('"1"');
  });

  it('fails with BADVERSION (409) when the version differs, -1 matching any', async () => {
    await create('/v');
    expect((await t.request('PUT', '/v1/znodes/v?version=3', { body: 'x' })).body.code).toBe('BADVERSION');
    expect((await t.request('PUT', '/v1/znodes/v?version=-2', { body: 'x' })).status).toBe(409);
    expect((await t.request('PUT', '/v1/znodes/v?version=0', { body: 'x' })).status).toBe(200);
    expect((await t.request('PUT', '/v1/znodes/v?version=-1', { body: 'y' })).body.stat.version).toBe(2);
  });

  it('takes the version from If-Match', async () => {
    await create('/m');
    expect((await t.request('PUT', '/v1/znodes/m', { body: 'x', headers: { 'if-match': '"5"' } })).status).toBe(409);
    expect((await t.request('PUT', '/v1/znodes/m', { body: 'x', headers: { 'if-match': '"0"' } })).status).toBe(200);
  });

  it('refuses versions that are not 32-bit integers with 400', async () => {
    await create('/n');
    for (const v of ['abc', '1.5', '2147483648', '-2147483649', '']) {
      expect((await t.request('PUT', `/v1/znodes/n?version=${v}`, { body: 'x' })).status, v).toBe(400);
    }
  });

  it('answers NOAUTH (403) on /zookeeper/config', async () => {
    const res = await t.request('PUT', '/v1/znodes/zookeeper/config', { body: 'x' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('NOAUTH');
  });
});

describe('delete', () => {
  it('answers 204 and the node is gone', async () => {
    await create('/gone');
    expect((await t.request('DELETE', '/v1/znodes/gone')).status).toBe(204);
    expect((await t.request('GET', '/v1/znodes/gone')).status).toBe(404);
  });

  it('fails with NOTEMPTY when the node has children, BADVERSION on a version mismatch', async () => {
    await create('/full');
    await create('/full/child');
    expect((await t.request('DELETE', '/v1/znodes/full')).body.code).toBe('NOTEMPTY');
    expect((await t.request('DELETE', '/v1/znodes/full/child?version=9')).body.code).toBe('BADVERSION');
  });

  it('moves the parent\'s pzxid on child create and delete', async () => {
    await create('/pp');
    const child = await create('/pp/c');
    expect((await t.request('GET', '/v1/stat/pp')).body.stat.pzxid).toBe(child.body.stat.czxid);
    await t.request('DELETE', '/v1/znodes/pp/c');
    const after = (await t.request('GET', '/v1/stat/pp')).body.stat;
    expect(BigInt(after.pzxid)).toBeGreaterThan(BigInt(child.body.stat.czxid));
  });

  it('refuses to delete the reserved nodes with BADARGUMENTS', async () => {
    for (const path of ['', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
      const res = await t.request('DELETE', `/v1/znodes${path}`);
      expect(res.status, path).toBe(400);
      expect(res.body.code).toBe('BADARGUMENTS');
    }
  });
});

describe('sync', () => {
  it('answers the zxid the node has applied', async () => {
    const created = await create('/s');
    const res = await t.request('POST', '/v1/sync/s');
    expect(res.body).toEqual({ path: '/s', zxid: created.body.stat.czxid });
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/test-node.ts';

let t: TestNode;
beforeEach(() => {
  t = startTestNode();
});
afterEach(async () => {
  await t.close();
});

const multi = (ops: object[]) => t.request('POST', '/v1/multi', { body: { ops } });

describe('multi', () => {
  it('applies all ops as one transaction with one zxid', async () => {
    const res = await multi([
      { op: 'create', path: '/m' },
      { op: 'create', path: '/m/child', data: 'aGk=', encoding: 'base64' },
      { op: 'setData', path: '/m', data: 'x' },
      { op: 'check', path: '/m', version: 1 },
    ]);
    expect(res.status).toBe(200);
    const [a, b, c, d] = res.body.results;
    expect(a).toMatchObject({ op: 'create', path: '/m' });
    expect(b).toMatchObject({ op: 'create', path: '/m/child', stat: { dataLength: 2 } });
    expect(c).toMatchObject({ op: 'setData', stat: { version: 1 } });
    expect(d).toEqual({ op: 'check' });
    expect(a.stat.czxid).toBe(b.stat.czxid);
    expect((await t.request('GET', '/v1/znodes/m/child')).body.data).toBe('hi');
  });

  it('applies nothing when an op fails, reporting OK before it and RUNTIMEINCONSISTENCY after', async () => {
    await t.request('POST', '/v1/znodes/exists', { body: '' });
    const res = await multi([
      { op: 'create', path: '/new' },
      { op: 'create', path: '/exists' },
      { op: 'delete', path: '/exists' },
    ]);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'NODEEXISTS', zkCode: -110, failedOp: 1 });
    expect(res.body.results).toEqual([
      { op: 'create', code: 'OK', zkCode: 0 },
      { op: 'create', code: 'NODEEXISTS', zkCode: -110 },
      { op: 'delete', code: 'RUNTIMEINCONSISTENCY', zkCode: -2 },
    ]);
    expect((await t.request('GET', '/v1/znodes/new')).status).toBe(404);
  });

  it('answers the failing op\'s status: 404 for NONODE, 409 for BADVERSION', async () => {
    expect((await multi([{ op: 'delete', path: '/none' }])).status).toBe(404);
    await t.request('POST', '/v1/znodes/v', { body: '' });
    expect((await multi([{ op: 'check', path: '/v', version: 4 }])).status).toBe(409);
  });

  it('succeeds with no results when empty', async () => {
    const res = await multi([]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ results: [] });
  });

  it('answers a read-only multi op by op, never failing as a whole', async () => {
    await t.request('POST', '/v1/znodes/r', { body: 'data' });
    const res = await multi([
      { op: 'getData', path: '/r' },
      { op: 'getChildren', path: '/' },
      { op: 'getData', path: '/missing' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.results[0]).toMatchObject({ op: 'getData', path: '/r', data: 'data', encoding: 'utf8' });
    expect(res.body.results[1]).toEqual({ op: 'getChildren', path: '/', children: ['r', 'zookeeper'] });
    expect(res.body.results[2]).toMatchObject({ op: 'getData', code: 'NONODE', zkCode: -101 });
  });

  it('refuses a mix of reads and writes, bad JSON and bad op shapes with 400', async () => {
    expect((await multi([{ op: 'getData', path: '/' }, { op: 'create', path: '/x' }])).status).toBe(400);
    expect((await t.request('POST', '/v1/multi', { body: '{"ops": [', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await t.request('POST', '/v1/multi', { body: { ops: 'no' } })).status).toBe(400);
    expect((await multi([{ op: 'rename', path: '/x' }])).status).toBe(400);
    expect((await multi([{ op: 'create', path: 7 }])).status).toBe(400);
    expect((await multi([{ op: 'create', path: '/x', data: '!!', encoding: 'base64' }])).status).toBe(400);
  });

  it('reports an invalid path as BADARGUMENTS at its op', async () => {
    const res = await multi([{ op: 'create', path: '/ok' }, { op: 'create', path: 'bad' }]);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'BADARGUMENTS', failedOp: 1 });
  });
});

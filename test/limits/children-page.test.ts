// getChildren answers, bounded (src/http/children-page.ts): at most `limit` names a page (at most
// --max-children-per-page), `more` when names follow, the next page after the last name; a
// watched paged listing sets the node's one child watch, as ZooKeeper's getChildren does.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { childrenPage, pageQueryOf } from '../../src/http/children-page.ts';
import { as, call, openSession, queued } from '../session/session-helpers.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';

const PAGE_MAX = 4;
let t: TestNode;
beforeEach(() => {
  t = startTestNode({ tickTimeMs: 200, maxChildrenPerPage: PAGE_MAX });
});
afterEach(async () => {
  await t.close();
});

async function makeChildren(names: readonly string[]): Promise<void> {
  expect((await call(t, 'POST', '/v1/znodes/p', { body: '' })).status).toBe(201);
  for (const name of names) expect((await call(t, 'POST', `/v1/znodes/p/${name}`, { body: '' })).status).toBe(201);
}

/** Every name, page by page, following `more` and the last name. */
async function allPages(limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let after: string | undefined;
  for (let i = 0; i < 100; i++) {
    const res = await call(t, 'GET', `/v1/children/p?limit=${limit}${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`);
    expect(res.status).toBe(200);
    pages.push(res.body.children);
    if (!res.body.more) return pages;
    after = res.body.children.at(-1);
  }
  throw new Error('more than 100 pages');
}

describe('GET /v1/children paging', () => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];

  it('answers at most --max-children-per-page names by default, with more: true and the full count in the stat', async () => {
    await makeChildren(names);
    const res = await call(t, 'GET', '/v1/children/p');
    expect(res.body).toMatchObject({ path: '/p', children: ['a', 'b', 'c', 'd'], more: true, stat: { numChildren: 10 } });
  });

  it('walks every name once, in order, page after page', async () => {
    await makeChildren(names);
    expect(await allPages(3)).toEqual([['a', 'b', 'c'], ['d', 'e', 'f'], ['g', 'h', 'i'], ['j']]);
    expect(await allPages(PAGE_MAX)).toEqual([['a', 'b', 'c', 'd'], ['e', 'f', 'g', 'h'], ['i', 'j']]);
  });

  it('answers more: false on the last page, and an empty last page after the last name', async () => {
    await makeChildren(['a', 'b']);
    expect((await call(t, 'GET', '/v1/children/p')).body).toMatchObject({ children: ['a', 'b'], more: false });
    expect((await call(t, 'GET', '/v1/children/p?after=b')).body).toMatchObject({ children: [], more: false });
    expect((await call(t, 'GET', '/v1/children/p?after=aa')).body).toMatchObject({ children: ['b'], more: false });
  });

  const invalid = [['limit=0'], ['limit=5'], ['limit=-1'], ['limit=two'], ['after='], ['after=a%2Fb']] as const;
  it.each(invalid)('refuses %s with 400 BADARGUMENTS', async (query) => {
    await makeChildren(['a']);
    const res = await call(t, 'GET', `/v1/children/p?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BADARGUMENTS');
  });

  it('sets the node\'s child watch from any page, fired once by a change to any child', async () => {
    await makeChildren(names);
    const s = await openSession(t, 4000);
    expect((await call(t, 'GET', '/v1/children/p?limit=2&after=h&watch=true', { headers: as(s) })).body.children).toEqual(['i', 'j']);
    expect((await call(t, 'GET', '/v1/children/p?limit=2&watch=true', { headers: as(s) })).status).toBe(200);
    expect(t.node.host.tree.watches.count(Number(s.id))).toBe(1);
    expect((await call(t, 'POST', '/v1/znodes/p/a0', { body: '' })).status).toBe(201);
    expect(queued(t, s)).toEqual(['NodeChildrenChanged /p']);
  });

  it('sets no watch when the page query is refused', async () => {
    await makeChildren(['a']);
    const s = await openSession(t, 4000);
    expect((await call(t, 'GET', '/v1/children/p?limit=0&watch=true', { headers: as(s) })).status).toBe(400);
    expect(t.node.host.tree.watches.count(Number(s.id))).toBe(0);
  });
});

describe('getChildren in a read-only multi', () => {
  it('answers the first page with more: true when names follow, and all of them without more when they fit', async () => {
    await makeChildren(['e', 'd', 'c', 'b', 'a']);
    expect((await call(t, 'POST', '/v1/znodes/q', { body: '' })).status).toBe(201);
    const res = await call(t, 'POST', '/v1/multi', { body: { ops: [{ op: 'getChildren', path: '/p' }, { op: 'getChildren', path: '/q' }] } });
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([
      { op: 'getChildren', path: '/p', children: ['a', 'b', 'c', 'd'], more: true },
      { op: 'getChildren', path: '/q', children: [] },
    ]);
  });
});

describe('childrenPage', () => {
  it('finds the cursor by binary search among many names', () => {
    const many = Array.from({ length: 100_000 }, (_, i) => String(i).padStart(6, '0'));
    const query = pageQueryOf('3', '050000', 10_000);
    expect(childrenPage(many, query)).toEqual({ children: ['050001', '050002', '050003'], more: true });
    expect(childrenPage(many, pageQueryOf(undefined, '099998', 10_000))).toEqual({ children: ['099999'], more: false });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralClient, SharedCount, type VersionedValue } from '../../../src/client/index.ts';
import { waitFor } from '../../support/corral-process.ts';
import { RecipeHarness } from './recipe-harness.ts';
import { seededRandom } from './recipe-truth.ts';

let harness: RecipeHarness;
const counts: SharedCount[] = [];

beforeAll(async () => {
  harness = await RecipeHarness.start();
});
afterAll(async () => {
  await Promise.all(counts.map((c) => c.close()));
  await harness.close();
});

async function started(path: string, seed = 0): Promise<SharedCount> {
  const count = new SharedCount(await harness.session(), path, seed);
  counts.push(count);
  await count.start();
  return count;
}

describe('SharedCount', () => {
  it('starts from the seed when the node is missing and keeps an existing value', async () => {
    const first = await started('/counts/seeded', 7);
    expect(first.getCount()).toBe(7);
    const second = await started('/counts/seeded', 99);
    expect(second.getVersionedValue()).toEqual({ value: 7, version: 0 });
  });

  it('sets by compare-and-set: trySetCount fails with a stale version and succeeds with the current one', async () => {
    const a = await started('/counts/cas');
    const b = await started('/counts/cas');
    const stale = b.getVersionedValue();
    expect(await a.trySetCount(5, a.getVersionedValue())).toBe(true);
    expect(await b.trySetCount(6, stale)).toBe(false);
    await waitFor(() => b.getCount() === 5, { timeoutMs: 5000, what: 'b to see 5' });
    expect(await b.trySetCount(6, b.getVersionedValue().version)).toBe(true);
    expect(b.getVersionedValue()).toEqual({ value: 6, version: 2 });
  });

  it('tells listeners of changes made by others', async () => {
    const watcher = await started('/counts/listen');
    const seen: VersionedValue[] = [];
    watcher.onChange((value) => seen.push(value));
    const writer = await started('/counts/listen');
    await writer.setCount(41);
    await waitFor(() => seen.some((v) => v.value === 41), { timeoutMs: 5000, what: 'the listener told' });
    expect(seen[seen.length - 1]).toEqual({ value: 41, version: 1 });
  });

  it('loses no increment among concurrent adders (CAS retries; seeded random deltas)', async () => {
    const random = seededRandom('SharedCount adders');
    const adders = await Promise.all(Array.from({ length: 4 }, () => started('/counts/race')));
    const deltas = adders.map(() => Array.from({ length: 15 }, () => 1 + random.int(5)));
    const results = await Promise.all(adders.map(async (count, i) => {
      const posts: number[] = [];
      for (const delta of deltas[i]!) posts.push((await count.add(delta)).postValue);
      return posts;
    }));
    const total = deltas.flat().reduce((a, b) => a + b, 0);
    const check = await started('/counts/race');
    expect(check.getCount()).toBe(total);
    // Every add saw a distinct post value: none was applied on top of a stale read.
    expect(new Set(results.flat()).size).toBe(results.flat().length);
  });

  it('refuses a count that is not a safe integer with 400 BADARGUMENTS, and a node that holds no count', async () => {
    const count = await started('/counts/bad');
    await expect(count.setCount(1.5)).rejects.toMatchObject({ code: 'BADARGUMENTS', status: 400 });
    await new CorralClient({ baseUrl: harness.server.url }).create('/counts/text', 'hello');
    const other = new SharedCount(await harness.session(), '/counts/text');
    counts.push(other);
    await other.start();
    await expect(other.add(1)).rejects.toMatchObject({ code: 'BADARGUMENTS' });
  });
});

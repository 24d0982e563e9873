// The recipes act through the session's requests, so the server's ACL checks apply to them: on a
// path the caller may only read, each refuses with the server's 403 NOAUTH (a typed CorralError)
// and leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderSelector, Lock, ReadWriteLock, Semaphore, type CorralSession } from '../../../src/client/index.ts';
import { waitFor } from '../../support/corral-process.ts';
import { RecipeHarness } from './recipe-harness.ts';

let harness: RecipeHarness;
let session: CorralSession;

beforeAll(async () => {
  harness = await RecipeHarness.start();
  session = await harness.session();
  const response = await session.request('/v1/znodes/recipes-ro', { method: 'POST', body: new Uint8Array(), headers: { 'Content-Type': 'application/octet-stream', 'Zk-Acl': 'world:anyone:r' } });
  expect(response.status).toBe(201);
  await response.body?.cancel();
});
afterAll(async () => {
  await harness.close();
});

const cases = [
  { recipe: 'a reentrant Lock', acquire: (s: CorralSession) => new Lock(s, '/recipes-ro', { reentrant: true }).acquire({ timeoutMs: 5000 }) },
  { recipe: 'a ReadWriteLock (write side)', acquire: (s: CorralSession) => new ReadWriteLock(s, '/recipes-ro').writeLock.acquire({ timeoutMs: 5000 }) },
  { recipe: 'a ReadWriteLock (read side)', acquire: (s: CorralSession) => new ReadWriteLock(s, '/recipes-ro').readLock.acquire({ timeoutMs: 5000 }) },
  { recipe: 'a Semaphore', acquire: (s: CorralSession) => new Semaphore(s, '/recipes-ro', 2).acquire(1, { timeoutMs: 5000 }) },
] as const;

describe('recipes under ACLs', () => {
  it.each(cases)('$recipe refuses with 403 NOAUTH on a path the caller may only read', async ({ acquire }) => {
    await expect(acquire(session)).rejects.toMatchObject({ status: 403, code: 'NOAUTH' });
    const children = await session.request('/v1/children/recipes-ro');
    expect(((await children.json()) as { children: string[] }).children).toEqual([]);
  });

  it('a LeaderSelector reports 403 NOAUTH to onError and never leads on a path the caller may only read', async () => {
    const errors: unknown[] = [];
    let led = false;
    const selector = new LeaderSelector(session, '/recipes-ro', async () => void (led = true), { onError: (error) => errors.push(error) });
    selector.start();
    await waitFor(() => errors.length >= 1, { timeoutMs: 5000, what: 'the refusal reported' });
    await selector.close();
    expect(errors[0]).toMatchObject({ status: 403, code: 'NOAUTH' });
    expect(led).toBe(false);
  });
});

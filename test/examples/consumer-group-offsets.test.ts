/**
 * The consumer-group example's fencing point (examples/consumer-group/offsets.ts) on a live
 * node: once a new owner has claimed a partition, the old owner's commit is refused and the
 * committed offset stays the new owner's; a claim for an older generation than the stored one
 * is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralClient } from '../../src/client/index.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { parseOffset } from '../../examples/consumer-group/assignment.ts';
import { claim, commit } from '../../examples/consumer-group/offsets.ts';

let server: RunningServer;
let dir: string;
let client: CorralClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-cg-offsets-'));
  server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1' });
  client = new CorralClient({ baseUrl: server.url, retryForMs: 1000 });
});

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function stored(path: string) {
  return parseOffset((await client.getData(path, { as: 'string' })).data);
}

describe('consumer-group offsets', () => {
  it('refuses the old owner\'s commit once a new owner has claimed the partition', async () => {
    const path = '/fenced-commit';
    const first = await claim(client, path, 0, 'w1', 1);
    if (!first.ok) throw new Error('the first claim was refused');
    expect(await commit(client, path, first.owned, 'w1', 10)).toBe(true);

    const second = await claim(client, path, 0, 'w2', 2);
    if (!second.ok) throw new Error('the second claim was refused');
    expect(second.owned.offset).toBe(10);
    expect(second.previousOwner).toBe('w1');
    expect(await commit(client, path, second.owned, 'w2', 15)).toBe(true);

    // w1 never saw generation 2: its next commit (of a smaller offset) must not land.
    expect(await commit(client, path, first.owned, 'w1', 12)).toBe(false);
    expect(await stored(path)).toEqual({ offset: 15, owner: 'w2', generation: 2 });
  });

  it('refuses a claim for an older generation than the stored one', async () => {
    const path = '/stale-claim';
    const current = await claim(client, path, 0, 'w2', 5);
    expect(current.ok).toBe(true);
    const stale = await claim(client, path, 0, 'w1', 4);
    expect(stale).toEqual({ ok: false, reason: 'newer-generation', stored: { offset: 0, owner: 'w2', generation: 5 } });
    expect(await stored(path)).toEqual({ offset: 0, owner: 'w2', generation: 5 });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistributedQueue } from '../../../src/client/index.ts';
import { waitFor } from '../../support/corral-process.ts';
import { RecipeHarness } from './recipe-harness.ts';
import { childrenNow, seededRandom } from './recipe-truth.ts';

let harness: RecipeHarness;

beforeAll(async () => {
  harness = await RecipeHarness.start();
});
afterAll(async () => {
  await harness.close();
});

const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));

describe('DistributedQueue', () => {
  it('hands items out in FIFO order, peek leaving them and poll answering undefined when empty', async () => {
    const queue = new DistributedQueue(await harness.session(), '/queues/fifo');
    expect(await queue.poll()).toBeUndefined();
    for (const item of ['a', 'b', 'c']) await queue.put(item);
    expect(text(await queue.peek())).toBe('a');
    expect([text(await queue.take()), text(await queue.poll()), text(await queue.take({ timeoutMs: 1000 }))]).toEqual(['a', 'b', 'c']);
    expect(await queue.poll()).toBeUndefined();
  });

  it('keeps bytes exactly as put', async () => {
    const queue = new DistributedQueue(await harness.session(), '/queues/bytes');
    await queue.put(new Uint8Array([0, 255, 10, 13]));
    expect([...(await queue.take())]).toEqual([0, 255, 10, 13]);
  });

  it('wakes a waiting consumer when an item is put', async () => {
    const [producer, consumer] = await Promise.all([harness.session(), harness.session()]);
    const taking = new DistributedQueue(consumer!, '/queues/wake').take({ timeoutMs: 10_000 });
    await waitFor(() => harness.watchesUnder('/queues/wake').some((w) => w.kind === 'child'), { timeoutMs: 5000, what: 'the consumer waiting on a child watch' });
    await new DistributedQueue(producer!, '/queues/wake').put('late');
    expect(text(await taking)).toBe('late');
  });

  it('gives up take with OPERATIONTIMEOUT on an empty queue', async () => {
    const queue = new DistributedQueue(await harness.session(), '/queues/empty');
    await expect(queue.take({ timeoutMs: 300 })).rejects.toMatchObject({ code: 'OPERATIONTIMEOUT' });
  });

  it('consumes every item exactly once among competing consumers (seeded random schedule)', async () => {
    const random = seededRandom('DistributedQueue consumers');
    const sessions = await Promise.all(Array.from({ length: 5 }, () => harness.session()));
    const producer = new DistributedQueue(sessions[0]!, '/queues/race');
    const ITEMS = 60;
    const taken: string[] = [];
    const consumers = sessions.slice(1).map(async (session) => {
      const queue = new DistributedQueue(session, '/queues/race');
      for (let i = 0; i < ITEMS * 2; i++) {
        const item = text(await queue.take({ timeoutMs: 3000 }).catch(() => undefined));
        if (item === undefined || item === 'stop') return;
        taken.push(item);
      }
    });
    for (let i = 0; i < ITEMS; i++) {
      await producer.put(`item-${i}`);
      if (random.next() < 0.3) await Promise.resolve();
    }
    for (let i = 0; i < 4; i++) await producer.put('stop');
    await Promise.all(consumers);
    expect(taken.length).toBe(ITEMS);
    expect(new Set(taken).size).toBe(ITEMS);
    expect(await childrenNow(sessions[0]!, '/queues/race')).toEqual([]);
  });

  it('sends a take whose delete answer was lost again with the same request id, so the item is neither lost nor taken twice', async () => {
    const { CorralClient, CorralSession } = await import('../../../src/client/index.ts');
    let loseDeletes = 1;
    const deleteIds: string[] = [];
    const lossy: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const response = await fetch(request);
      if (request.method === 'DELETE' && new URL(request.url).pathname.startsWith('/v1/znodes/queues/lossy/')) {
        deleteIds.push(request.headers.get('Zk-Request-Id') ?? '');
        if (loseDeletes-- > 0) throw new TypeError('fetch failed (answer lost by the test)');
      }
      return response;
    };
    const producer = new DistributedQueue(await harness.session(), '/queues/lossy');
    await producer.put('only');
    await producer.put('second');
    const session = await CorralSession.open(new CorralClient({ baseUrl: harness.server.url, fetch: lossy, retryForMs: 50 }), 2000);
    try {
      expect(text(await new DistributedQueue(session, '/queues/lossy').take({ timeoutMs: 5000 }))).toBe('only');
      expect(deleteIds.length).toBeGreaterThanOrEqual(2);
      expect(new Set(deleteIds).size).toBe(1); // the same id each time
      expect(text(await producer.poll())).toBe('second');
    } finally {
      await session.close();
    }
  });
});

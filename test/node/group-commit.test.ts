import { afterEach, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/test-node.ts';

let t: TestNode | undefined;
afterEach(async () => {
  await t?.close();
});

async function histogram(node: TestNode, name: string): Promise<{ count: number; sum: number }> {
  const metric = await node.node.metrics.registry.getSingleMetric(name)!.get();
  const value = (suffix: string) =>
    metric.values.find((v) => (v as { metricName?: string }).metricName === `${name}${suffix}`)?.value ?? 0;
  return { count: value('_count'), sum: value('_sum') };
}

describe('group commit', () => {
  it('persists writes that arrive together in one SQLite transaction (one fsync)', async () => {
    t = startTestNode();
    const node = t;
    const before = await histogram(node, 'corral_log_batch_entries');
    const writes = Array.from({ length: 64 }, (_, i) => node.request('POST', `/v1/znodes/n${i}`, { body: 'x' }));
    const answers = await Promise.all(writes);
    expect(answers.every((a) => a.status === 201)).toBe(true);
    const after = await histogram(node, 'corral_log_batch_entries');
    const batches = after.count - before.count;
    const entries = after.sum - before.sum;
    expect(entries).toBe(64);
    // 64 writes in flight together share a handful of batches, not 64 fsyncs.
    expect(batches).toBeLessThanOrEqual(8);
  });

  it('acknowledges each write only with its own result, in log order', async () => {
    t = startTestNode();
    const node = t;
    await node.request('POST', '/v1/znodes/seq', { body: '' });
    const answers = await Promise.all(
      Array.from({ length: 32 }, () => node.request('POST', '/v1/znodes/seq/n-?mode=persistent_sequential', { body: '' })),
    );
    const paths = answers.map((a) => a.body.path as string);
    expect(new Set(paths).size).toBe(32);
    const czxids = answers.map((a) => BigInt(a.body.stat.czxid));
    // The sequential counter and the zxid grow together: names were given in log order.
    const byZxid = [...answers].sort((a, b) => (BigInt(a.body.stat.czxid) < BigInt(b.body.stat.czxid) ? -1 : 1));
    expect(byZxid.map((a) => a.body.path)).toEqual([...paths].sort());
    expect(new Set(czxids).size).toBe(32);
  });
});

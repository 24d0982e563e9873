import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DurationHistogram } from '../../src/observability/duration-histogram.ts';

const BOUNDS = [0.001, 0.01, 0.1, 1];
const observation = fc.record({
  method: fc.constantFrom('GET', 'PUT'),
  route: fc.constantFrom('/v1/znodes/*', '/v1/stat/*'),
  // Bounds themselves included: a value on a bound counts in that bucket (le).
  seconds: fc.oneof(fc.constantFrom(...BOUNDS, 0, 5), fc.double({ min: 0, max: 10, noNaN: true })),
});

describe('DurationHistogram', () => {
  it('scrapes exactly as prom-client\'s Histogram does for the same observations', async () => {
    await fc.assert(fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (observations) => {
      const [ours, theirs] = [new Registry(), new Registry()];
      const histogram = new DurationHistogram('d_seconds', 'latency', ['method', 'route'], BOUNDS, ours);
      const reference = new Histogram({ name: 'd_seconds', help: 'latency', labelNames: ['method', 'route'], buckets: BOUNDS, registers: [theirs] });
      for (const { method, route, seconds } of observations) {
        histogram.labels(method, route).observe(seconds);
        reference.labels(method, route).observe(seconds);
      }
      const lines = async (registry: Registry) => (await registry.metrics()).split('\n').filter((line) => !line.startsWith('#')).sort();
      const [a, b] = [await lines(ours), await lines(theirs)];
      // Sums may differ in the last bits from addition order only if series order differed: compare as numbers.
      expect(a.map((line) => line.replace(/ ([\d.e+-]+)$/, (_, v: string) => ` ${Number(v).toPrecision(12)}`)))
        .toEqual(b.map((line) => line.replace(/ ([\d.e+-]+)$/, (_, v: string) => ` ${Number(v).toPrecision(12)}`)));
    }), { numRuns: 50 });
  });

  it('forgets its series when the registry is reset', async () => {
    const registry = new Registry();
    new DurationHistogram('r_seconds', 'latency', ['route'], BOUNDS, registry).labels('/x').observe(0.5);
    expect(await registry.metrics()).toMatch(/r_seconds_count\{route="\/x"\} 1/);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toMatch(/r_seconds_count/);
  });
});

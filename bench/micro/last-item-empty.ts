/**
 * `npx tsx bench/micro/last-item-empty.ts [--calls 2000000]`: the last item of an empty array read
 * as `items[items.length - 1]` (the property "-1", looked up off V8's fast path) against
 * `items.at(-1)`, as src/ reads it. Prints ns per call for each.
 *
 * Why: BENCHMARKS.md, "The last item of an empty array".
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '2000000' } } });
const calls = Number(values.calls);
const base = { config: 'base' };
const changes: Array<{ config: string }> = [];

function timed(read: () => string): number {
  let found = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) if (read() === 'base') found++;
  const ns = Number(process.hrtime.bigint() - started) / calls;
  if (found !== calls) throw new Error('wrong answer');
  return ns;
}

for (let round = 1; round <= 3; round++) {
  const indexed = timed(() => changes[changes.length - 1]?.config ?? base.config);
  const at = timed(() => changes.at(-1)?.config ?? base.config);
  console.log(`round ${round}: items[items.length - 1] ${indexed.toFixed(1)} ns per call, items.at(-1) ${at.toFixed(1)} ns per call (empty array, ${calls} calls)`);
}

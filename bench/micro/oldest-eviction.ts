/**
 * `npx tsx bench/micro/oldest-eviction.ts [--size 65536] [--ops 400000]`: a table bounded at
 * `size` that evicts its oldest entry on every insert once full (the pipeline's forwarded ids,
 * the request table, the rate limiter's buckets), evicting with `keys().next()` each time
 * against an OldestFirst cursor kept across calls. Prints ns per insert for each.
 *
 * Why: a fresh iterator starts at the front of V8's hash table and steps over every entry
 * deleted there since the table's last rehash, up to the table's size (BENCHMARKS.md,
 * "Evicting the oldest entry").
 */
import { parseArgs } from 'node:util';
import { OldestFirst } from '../../src/core/oldest-first.ts';

const { values } = parseArgs({ options: { size: { type: 'string', default: '65536' }, ops: { type: 'string', default: '400000' } } });
const size = Number(values.size);
const ops = Number(values.ops);

function fresh(): number {
  const set = new Set<string>();
  const started = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) {
    set.add(`2/abcdef012345.${i}`);
    if (set.size > size) set.delete(set.keys().next().value!);
  }
  return Number(process.hrtime.bigint() - started) / ops;
}

function cursor(): number {
  const set = new Set<string>();
  const oldest = new OldestFirst(set);
  const started = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) {
    set.add(`2/abcdef012345.${i}`);
    if (set.size > size) oldest.take();
  }
  return Number(process.hrtime.bigint() - started) / ops;
}

for (let round = 1; round <= 3; round++) {
  console.log(`round ${round}: keys().next() ${fresh().toFixed(0)} ns per insert, OldestFirst ${cursor().toFixed(0)} ns per insert (size ${size}, ${ops} inserts)`);
}

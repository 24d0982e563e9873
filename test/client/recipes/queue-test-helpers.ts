// Helpers the queue-recipe tests share: a node's children in sequence order, and a seeded random
// source that prints its seed so a run can be replayed (SIM_SEED=…).
import type { CorralSession } from '../../../src/client/index.ts';
import { sequenceOf } from '../../../src/client/recipes/sequential.ts';
import { mulberry32 } from '../../oracle/ops.ts';

/** The children of `path` in sequence order (none when it does not exist). */
export async function children(session: CorralSession, path: string): Promise<string[]> {
  const response = await session.request(`/v1/children${path}`);
  const names = response.ok ? ((await response.json()) as { children: string[] }).children : [];
  return names.sort((a, b) => sequenceOf(a) - sequenceOf(b));
}

/** A PRNG seeded from SIM_SEED or the clock; the seed is printed with `what`. */
export function seededRandom(what: string): () => number {
  const seed = Number(process.env.SIM_SEED ?? Date.now() % 1_000_000);
  console.log(`${what} seed ${seed} (replay with SIM_SEED=${seed})`);
  return mulberry32(seed);
}

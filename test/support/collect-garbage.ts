/**
 * Forces full garbage collections, for tests of what must (or must not) happen when an object is
 * collected. V8's gc() is exposed at run time (v8.setFlagsFromString + a fresh vm context: the
 * documented way to get `gc` without restarting with --expose-gc), so no special vitest options
 * are needed. A WeakRef's target survives until the job that made it ends, so each collection
 * runs after a turn of the event loop.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const GC_ROUNDS = 5;

export async function collectGarbage(): Promise<void> {
  for (let round = 0; round < GC_ROUNDS; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}

/**
 * zxids: ZooKeeper's 64-bit transaction ids, the epoch (term) in the high 32 bits and a counter
 * in the low 32. We use the log index as the counter, so zxids order exactly as the log does
 * (terms never decrease along a log). Kept as JS numbers: exact while term < 2^21.
 */
import { assert } from '../errors.ts';

const EPOCH_FACTOR = 2 ** 32;

export function zxidOf(term: number, index: number): number {
  assert(term < 2 ** 21 && index < EPOCH_FACTOR, `zxid out of range: term ${term} index ${index}`);
  return term * EPOCH_FACTOR + index;
}

export function epochOf(zxid: number): number {
  return Math.floor(zxid / EPOCH_FACTOR);
}

export function indexOf(zxid: number): number {
  return zxid % EPOCH_FACTOR;
}

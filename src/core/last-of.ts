/**
 * The last item of an array, or undefined when it is empty.
 *
 * Not `items[items.length - 1]` on an array that may be empty: -1 is not an array index, so V8
 * looks it up as the property "-1", up the prototype chain, off its fast path — ~170–320 ns a
 * call against ~5 ns (BENCHMARKS.md, "The last item of an empty array"). The configuration
 * in force was read that way ~5 times per write.
 */
export function lastOf<T>(items: readonly T[]): T | undefined {
  return items.length === 0 ? undefined : items[items.length - 1];
}

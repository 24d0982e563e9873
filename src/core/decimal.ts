/**
 * `String(n)` for a number, faster for the large non-negative integers zxids and times are:
 * V8 prints an integer past 2^31 with its shortest-double printer unless its number-string
 * cache holds it, and two small-integer conversions cost less (BENCHMARKS.md, "Large integers as text").
 */
export function decimal(n: number): string {
  if (n < 1e9 || !Number.isSafeInteger(n)) return String(n);
  const low = n % 1e9;
  // The 9 low digits, leading zeros kept: 1e9 + low is a small integer, and its first digit goes.
  return `${(n - low) / 1e9}${String(1e9 + low).slice(1)}`;
}

/**
 * ZooKeeper's StatsTrack: the text of a quota's `zookeeper_limits` and `zookeeper_stats` nodes,
 * e.g. `count=2,bytes=-1=;byteHardLimit=-1;countHardLimit=-1` (3.7+) or `count=3,bytes=10`.
 * Parsed as StatsTrack(String) does: pairs split on `[,;]+`, each pair split on `=` (Java's split,
 * so trailing empty pieces vanish and `bytes=-1=` reads as bytes=-1), a key missing is -1, an empty
 * value is -1. Where StatsTrack would throw (a pair without a value, a value Long.parseLong refuses)
 * this answers undefined and the caller decides what that means.
 */

export type StatsTrack = ReadonlyMap<string, number>;

export const COUNT = 'count';
export const BYTES = 'bytes';
export const COUNT_HARD_LIMIT = 'countHardLimit';
export const BYTE_HARD_LIMIT = 'byteHardLimit';

/** Long.parseLong's ASCII form (Java also takes other Unicode digits; no client writes them). */
const LONG = /^[+-]?[0-9]+$/;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

function parseLong(text: string): number | undefined {
  if (!LONG.test(text)) return undefined;
  // Up to 15 digits is exact as a number and within a long; only longer ones need BigInt's range check.
  if (text.length <= 15) return Number(text) + 0; // + 0: Java has no -0
  const value = BigInt(text);
  return value < LONG_MIN || value > LONG_MAX ? undefined : Number(value);
}

const isSeparator = (c: number): boolean => c === 0x2c || c === 0x3b; // ',' ';'

/**
 * The key/value pairs of `text`, or undefined where ZooKeeper's StatsTrack would throw. A scan
 * rather than regex splits (this runs on every write under a quota), with Java's split rules:
 * runs of separators make one break; a leading one makes an empty first pair (which throws),
 * unless the text is nothing but separators (no pairs at all); trailing ones are dropped.
 */
export function parseStatsTrack(text: string): Map<string, number> | undefined {
  const stats = new Map<string, number>();
  const n = text.length;
  let start = 0;
  while (start < n && isSeparator(text.charCodeAt(start))) start++;
  if (start > 0 && start < n) return undefined;
  while (start < n) {
    let end = start;
    while (end < n && !isSeparator(text.charCodeAt(end))) end++;
    if (!parsePair(text, start, end, stats)) return undefined;
    start = end;
    while (start < n && isSeparator(text.charCodeAt(start))) start++;
  }
  return stats;
}

/**
 * One `key=value` pair, text[start, end), as `pair.split("=")` reads it: kv[0] is the key, kv[1]
 * the value (empty means -1), later pieces ignored; trailing empty pieces do not count, so a pair
 * needs a second piece with something after it (`a=` and `a==` throw in Java, `a==5` is a=-1).
 */
function parsePair(text: string, start: number, end: number, stats: Map<string, number>): boolean {
  const eq = text.indexOf('=', start);
  if (eq === -1 || eq >= end) return false;
  let valueEnd = text.indexOf('=', eq + 1);
  if (valueEnd === -1 || valueEnd > end) valueEnd = end;
  let value: number | undefined;
  if (valueEnd > eq + 1) value = parseLong(text.slice(eq + 1, valueEnd));
  else {
    for (let i = valueEnd; i < end && value === undefined; i++) if (text.charCodeAt(i) !== 0x3d) value = -1;
  }
  if (value === undefined) return false;
  stats.set(text.slice(start, eq), value);
  return true;
}

/** A key's value, -1 when absent (StatsTrack.getValue). */
export function statValue(stats: StatsTrack, key: string): number {
  return stats.get(key) ?? -1;
}

/**
 * StatsTrack.toString: `count=C,bytes=B`, then, if any other key is set, `=` and `;key=value` for
 * each, sorted (the `=` makes pre-3.7 parsers ignore the rest). Java sorts by UTF-16 code units,
 * as JavaScript's default sort does.
 */
export function formatStatsTrack(stats: StatsTrack): string {
  let text = `${COUNT}=${statValue(stats, COUNT)},${BYTES}=${statValue(stats, BYTES)}`;
  const others = [...stats.keys()].filter((key) => key !== COUNT && key !== BYTES).sort();
  if (others.length > 0) text += '=' + others.map((key) => `;${key}=${stats.get(key)}`).join('');
  return text;
}

const decoder = new TextDecoder();

/**
 * Parses by data array: node records and their data are never mutated, so a parse holds as long
 * as the array lives. A write under a quota reads the same limits each time, and the stats this
 * module wrote itself: both are found here instead of parsed again.
 */
const parsedBytes = new WeakMap<Uint8Array, StatsTrack | null>();

/** A node's data as StatsTrack reads it (UTF-8, invalid bytes replaced, as Java's String does). */
export function parseStatsBytes(data: Uint8Array): StatsTrack | undefined {
  let stats = parsedBytes.get(data);
  if (stats === undefined) {
    stats = parseStatsTrack(asciiText(data) ?? decoder.decode(data)) ?? null;
    parsedBytes.set(data, stats);
  }
  return stats ?? undefined;
}

/** Short ASCII (what stats and limits hold) without TextDecoder, whose call costs more than the parse. */
function asciiText(data: Uint8Array): string | undefined {
  if (data.length > 64) return undefined;
  let text = '';
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c >= 0x80) return undefined;
    text += String.fromCharCode(c);
  }
  return text;
}

/** The formatted stats as bytes (ASCII unless a key a client wrote is not); `stats` must not change after. */
export function statsBytes(stats: StatsTrack): Uint8Array {
  const text = formatStatsTrack(stats);
  let bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      bytes = new TextEncoder().encode(text);
      break;
    }
    bytes[i] = c;
  }
  parsedBytes.set(bytes, stats);
  return bytes;
}

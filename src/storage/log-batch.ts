/**
 * A run of consecutive log entries as one row of the SQLite log: `first`, `last`, the entries'
 * text and a CRC-32 of `first:` and that text. The text is, per entry, `<term> <length>\n<data>`
 * (length in UTF-16 code units, so a slice reads it back whatever the data holds).
 *
 * One row per append, not per entry: each row costs SQLite a B-tree insert now and a delete when
 * a checkpoint covers it, far more than its bytes (profiles of setData-64: the log's inserts and
 * the pruning behind checkpoints were ~7 % of a node's time with a row per entry).
 */
import type { Entry } from '../core/consensus/types.ts';
import { crc32 } from './crc32.ts';
import { StorageCorruptError } from './storage-error.ts';

/** Entries in one row at most: a read of one old entry decodes its whole row. */
export const ENTRIES_PER_ROW_MAX = 256;

export interface LogBatchRow {
  readonly first: number;
  readonly last: number;
  readonly body: string;
  readonly crc: number;
}

function batchCrc(first: number, body: string): number {
  return crc32(body, crc32(`${first}:`));
}

/** `entries` (consecutive, at least one) as a row. */
export function encodeLogBatch(entries: readonly Entry[], start = 0, end = entries.length): LogBatchRow {
  let body = '';
  for (let i = start; i < end; i++) {
    const { term, data } = entries[i]!;
    body += `${term} ${data.length}\n${data}`;
  }
  const first = entries[start]!.index;
  return { first, last: entries[end - 1]!.index, body, crc: batchCrc(first, body) };
}

/** A row's entries, checked against its CRC and its `first`..`last`; a damaged row is StorageCorruptError. */
export function decodeLogBatch(row: LogBatchRow): Entry[] {
  const { first, last, body } = row;
  const corrupt = (why: string) => new StorageCorruptError(`log entries ${first}..${last} are corrupt (${why})`);
  if (batchCrc(first, body) !== row.crc) throw corrupt('checksum mismatch');
  const out: Entry[] = [];
  let at = 0;
  for (let index = first; at < body.length; index++) {
    const space = body.indexOf(' ', at);
    const newline = body.indexOf('\n', space + 1);
    const term = Number(body.slice(at, space));
    const length = Number(body.slice(space + 1, newline));
    const end = newline + 1 + length;
    if (space <= at || newline <= space + 1 || !Number.isSafeInteger(term) || !Number.isSafeInteger(length) || end > body.length) {
      throw corrupt('malformed');
    }
    out.push({ term, index, data: body.slice(newline + 1, end) });
    at = end;
  }
  if (out.length !== last - first + 1) throw corrupt(`${out.length} entries in the row`);
  return out;
}

/** CRC-32 (IEEE), for a checksum per log entry and checkpoint row: zlib's, native. */
import { crc32 as zlibCrc32 } from 'node:zlib';

/** CRC-32 of `text` as UTF-8, continuing from `previous` (the CRC of what came before it). */
export function crc32(text: string, previous = 0): number {
  return text.length === 0 ? previous : zlibCrc32(text, previous);
}

/** CRC-32 of `bytes`, continuing from `previous` (the CRC of what came before them). */
export function crc32Bytes(bytes: Uint8Array, previous = 0): number {
  // zlib.crc32 answers 0, not `previous`, for an empty view of an empty ArrayBuffer (Node 20.20).
  return bytes.length === 0 ? previous : zlibCrc32(bytes, previous);
}

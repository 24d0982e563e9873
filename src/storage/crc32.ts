/** CRC-32 (IEEE), for a checksum per log entry and per checkpoint page: zlib's, native. */
import { crc32 as zlibCrc32 } from 'node:zlib';

export function crc32(text: string): number {
  return zlibCrc32(text);
}

/** CRC-32 of `bytes`, continuing from `previous` (the CRC of what came before them). */
export function crc32Bytes(bytes: Uint8Array, previous = 0): number {
  // zlib answers 0 for a buffer with no memory behind it (SQLite's empty blobs), whatever `previous`.
  return bytes.length === 0 ? previous : zlibCrc32(bytes, previous);
}

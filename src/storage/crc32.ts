/** CRC-32 (IEEE), for a checksum per log entry; Node 20 has no zlib.crc32 yet. */
const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

export function crc32(text: string): number {
  return crc32Bytes(Buffer.from(text, 'utf8'));
}

/** CRC-32 of `bytes`, continuing from `previous` (the CRC of what came before them). */
export function crc32Bytes(bytes: Uint8Array, previous = 0): number {
  let crc = previous ^ -1;
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/**
 * Small znode data copied side by side into shared 8 KB slabs, as Node's Buffer pool does: a
 * Uint8Array with an ArrayBuffer of its own costs ~500 bytes of RSS for 100 bytes of data, a view
 * on a slab ~190. A slab is freed once none of its views is held; copying changes no byte, so the
 * tree stays deterministic.
 */
const SLAB_BYTES = 8 * 1024;
/** Larger data keeps a buffer of its own, so one big value never pins a slab of small ones. */
const SMALL_MAX = SLAB_BYTES / 8;
const EMPTY = new Uint8Array(0);

let slab = new Uint8Array(SLAB_BYTES);
let used = 0;

/** A copy of `bytes[start, end)`, held compactly. */
export function compactBytes(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  const length = end - start;
  if (length === 0) return EMPTY;
  if (length > SMALL_MAX) return ownCopy(bytes, start, end);
  if (used + length > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    used = 0;
  }
  // No throwaway view per copy (a checkpoint load makes millions): a Buffer copies natively, else a byte loop.
  if (Buffer.isBuffer(bytes)) bytes.copy(slab, used, start, end);
  else for (let i = 0; i < length; i++) slab[used + i] = bytes[start + i]!;
  const view = slab.subarray(used, used + length);
  used += length;
  return view;
}

/** `bytes[start, end)` in a buffer of its own: as is when it already is one. */
function ownCopy(bytes: Uint8Array, start: number, end: number): Uint8Array {
  if (start === 0 && end === bytes.length && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = new Uint8Array(end - start);
  copy.set(bytes.subarray(start, end));
  return copy;
}

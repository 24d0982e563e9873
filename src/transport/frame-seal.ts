/**
 * Sealed frames: once a handshake on the shared secret has succeeded, every byte either way on
 * that connection travels in authenticated records, so a relay that passed the handshake through
 * can neither inject, replay, reorder, drop-then-deliver nor alter a frame: the first record that
 * does not open closes the link (which then redials and handshakes afresh).
 *
 *   record = u32 length (of what follows) | plaintext | 32-byte HMAC-SHA256(key, u64 sequence | plaintext)
 *
 * Authenticated, not encrypted: the secret mode is for a quick cluster on a network the operator
 * trusts with the data; confidentiality is peer TLS's job (peer-tls.ts). AES-256-GCM records cost
 * ~16 µs of CPU each (seal and open, in Node's per-call crypto) against ~7 µs for HMAC, and a
 * replicated write takes several records: GCM cost a 3-member cluster 13 % of its writes
 * (BENCHMARKS.md, "Round 2, issue 16").
 *
 * Keys: HKDF-SHA256 of the secret, salted with a hash of the handshake transcript (protocol, ids,
 * both nonces), one key per direction. The nonces are fresh per connection, so the keys are too;
 * each record's MAC covers its implicit sequence number in that direction (never sent), so a
 * record out of place fails its tag. Distinct keys per direction stop a record being reflected.
 *
 * Frames written in one turn of the event loop are sealed together (one MAC per record, not
 * per frame: setting one up costs more than sealing a small frame); a frame larger than
 * RECORD_PLAINTEXT_MAX spans several records, so a receiver holds at most one record of
 * bytes it has not authenticated — an injected length header cannot make it buffer 256 MiB.
 * The plaintext inside the records is the ordinary frame stream (frame-codec.ts).
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { FRAME_HEADER_BYTES, FrameError } from './frame-codec.ts';

const KEY_BYTES = 32;
const SEQUENCE_BYTES = 8;
export const TAG_BYTES = 32;
/** Plaintext per record at most. */
export const RECORD_PLAINTEXT_MAX = 128 * 1024;
/** The largest record body (plaintext and tag) a receiver accepts. */
export const RECORD_BODY_MAX = RECORD_PLAINTEXT_MAX + TAG_BYTES;
/** Records per direction before the link must be redialed (keeps the counter an exact integer). */
const RECORDS_MAX = Number.MAX_SAFE_INTEGER;
const KDF_LABEL = 'corral/peer-link/v3-hmac';

/** What both ends agreed on in the handshake; every field is bound into the keys. */
export interface Transcript {
  readonly protocol: number;
  /** The dialer's id. */
  readonly from: number;
  /** The listener's id. */
  readonly to: number;
  readonly listenerNonce: string;
  readonly dialerNonce: string;
}

/** A connection's keys, one per direction; each end seals with one and opens with the other. */
export interface LinkKeys {
  readonly send: Buffer;
  readonly receive: Buffer;
}

export class SealError extends FrameError {
  override readonly name = 'SealError';
}

/** The keys of `side` of the connection whose handshake is `transcript`. */
export function deriveLinkKeys(secret: string, transcript: Transcript, side: 'dialer' | 'listener'): LinkKeys {
  const { protocol, from, to, listenerNonce, dialerNonce } = transcript;
  // Every field has a fixed alphabet without '|', so the joined text is unambiguous.
  const salt = createHash('sha256').update([KDF_LABEL, protocol, from, to, listenerNonce, dialerNonce].join('|'), 'utf8').digest();
  const key = (direction: string): Buffer => Buffer.from(hkdfSync('sha256', secret, salt, `${KDF_LABEL} ${direction}`, KEY_BYTES));
  const up = key('dialer-to-listener');
  const down = key('listener-to-dialer');
  return side === 'dialer' ? { send: up, receive: down } : { send: down, receive: up };
}

/** update() hashes what it is given before it returns, so one buffer serves every tag. */
const SEQUENCE_SCRATCH = Buffer.alloc(SEQUENCE_BYTES);

/** HMAC-SHA256 of a record's sequence number and plaintext. */
function tagOf(key: Buffer, sequence: number, plaintext: Buffer): Buffer {
  if (sequence >= RECORDS_MAX) throw new SealError('record sequence exhausted: the link must be redialed');
  // The u64 as two u32s: exact below 2^53, and no BigInt per record.
  SEQUENCE_SCRATCH.writeUInt32BE(Math.floor(sequence / 2 ** 32), 0);
  SEQUENCE_SCRATCH.writeUInt32BE(sequence >>> 0, 4);
  return createHmac('sha256', key).update(SEQUENCE_SCRATCH).update(plaintext).digest();
}

/** Gathers the frames of one turn and seals them into records. */
export class RecordSealer {
  private sequence = 0;
  private pending: Buffer[] = [];
  private pendingBytesNow = 0;

  constructor(private readonly key: Buffer) {}

  /** Plaintext bytes waiting to be sealed. */
  get pendingBytes(): number {
    return this.pendingBytesNow;
  }

  push(frame: Buffer): void {
    this.pending.push(frame);
    this.pendingBytesNow += frame.length;
  }

  /** Seals everything pushed so far; returns the records, ready for the socket. */
  drain(): Buffer[] {
    const records: Buffer[] = [];
    let pieces: Buffer[] = [];
    let bytes = 0;
    for (const frame of this.pending) {
      for (let offset = 0; offset < frame.length;) {
        const n = Math.min(frame.length - offset, RECORD_PLAINTEXT_MAX - bytes);
        pieces.push(n === frame.length ? frame : frame.subarray(offset, offset + n));
        bytes += n;
        offset += n;
        if (bytes === RECORD_PLAINTEXT_MAX) {
          records.push(this.seal(pieces, bytes));
          pieces = [];
          bytes = 0;
        }
      }
    }
    if (bytes > 0) records.push(this.seal(pieces, bytes));
    this.pending = [];
    this.pendingBytesNow = 0;
    return records;
  }

  discard(): void {
    this.pending = [];
    this.pendingBytesNow = 0;
  }

  private seal(pieces: readonly Buffer[], plaintextBytes: number): Buffer {
    const record = Buffer.allocUnsafe(FRAME_HEADER_BYTES + plaintextBytes + TAG_BYTES);
    record.writeUInt32BE(plaintextBytes + TAG_BYTES, 0);
    let at = FRAME_HEADER_BYTES;
    for (const piece of pieces) at += piece.copy(record, at);
    // One update over the copied plaintext, not one per frame: each call into OpenSSL costs more than hashing a frame.
    tagOf(this.key, this.sequence++, record.subarray(FRAME_HEADER_BYTES, at)).copy(record, at);
    return record;
  }
}

/** Opens the records of one direction, in order. */
export class RecordOpener {
  private sequence = 0;

  constructor(private readonly key: Buffer) {}

  /** The plaintext of the next record's body; SealError if it is not the record expected next. */
  open(body: Buffer): Buffer {
    if (body.length <= TAG_BYTES) throw new SealError('a sealed record is too short');
    const cut = body.length - TAG_BYTES;
    const plaintext = body.subarray(0, cut);
    if (!timingSafeEqual(tagOf(this.key, this.sequence++, plaintext), body.subarray(cut))) {
      throw new SealError('a sealed record failed authentication (injected, replayed, reordered or altered)');
    }
    return plaintext;
  }
}

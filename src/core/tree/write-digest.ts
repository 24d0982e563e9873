/**
 * A 64-bit FNV-1a digest of what a write asks for (its ops with their data bytes, whether it is a
 * multi, its session), so a retried request id can be told from one reused for another operation.
 * Pure and the same on every member: it is computed at apply and kept in the replicated state.
 *
 * The encoding is canonical and unambiguous: every field is length-prefixed or fixed-size, and a
 * string goes in as its UTF-16 code units (two bytes each), as JavaScript holds it. The time stamp
 * is left out: a retry is prepared again, at another time, and is still the same operation.
 */
import { OPEN_ACL, type Acl } from '../acl/acl.ts';
import { assertNever } from '../errors.ts';
import type { WriteOp } from './txn.ts';

/** FNV-1a 64 in four 16-bit limbs (h3 the most significant): exact, without BigInt's cost per byte. */
class Fnv64 {
  private h0 = 0x2325;
  private h1 = 0x8422;
  private h2 = 0x9ce4;
  private h3 = 0xcbf2;

  byte(b: number): void {
    this.h0 ^= b & 0xff;
    // × 0x100000001b3: the low limb 0x1b3, and 1 << 40 (limb 2, shifted by 8).
    const t0 = this.h0 * 0x1b3;
    const t1 = this.h1 * 0x1b3;
    const t2 = this.h2 * 0x1b3 + (this.h0 << 8);
    const t3 = this.h3 * 0x1b3 + (this.h1 << 8);
    this.h0 = t0 & 0xffff;
    const c1 = t1 + (t0 >>> 16);
    this.h1 = c1 & 0xffff;
    const c2 = t2 + Math.floor(c1 / 0x10000);
    this.h2 = c2 & 0xffff;
    this.h3 = (t3 + Math.floor(c2 / 0x10000)) & 0xffff;
  }

  /** A non-negative integer below 2^53 (or -1, -2 for versions), as 8 bytes. */
  int(n: number): void {
    const v = n < 0 ? 2 ** 53 + n : n;
    const high = Math.floor(v / 0x100000000);
    const low = v >>> 0;
    for (let s = 24; s >= 0; s -= 8) this.byte(high >>> s);
    for (let s = 24; s >= 0; s -= 8) this.byte(low >>> s);
  }

  text(s: string): void {
    this.int(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      this.byte(c >>> 8);
      this.byte(c);
    }
  }

  bytes(data: Uint8Array): void {
    this.int(data.length);
    for (let i = 0; i < data.length; i++) this.byte(data[i]!);
  }

  hex(): string {
    return [this.h3, this.h2, this.h1, this.h0].map((h) => h.toString(16).padStart(4, '0')).join('');
  }
}

function aclInto(h: Fnv64, acl: Acl): void {
  h.int(acl.length);
  for (const e of acl) {
    h.int(e.perms);
    h.text(e.scheme);
    h.text(e.id);
  }
}

/** 16 hex digits identifying (ops, multi, sessionId). */
export function writeDigest(ops: readonly WriteOp[], multi: boolean, sessionId: number): string {
  const h = new Fnv64();
  h.byte(multi ? 1 : 0);
  h.int(sessionId);
  h.int(ops.length);
  for (const op of ops) {
    h.text(op.type);
    h.text(op.path);
    switch (op.type) {
      case 'create':
        h.text(op.mode);
        h.int(op.ttlMs);
        h.bytes(op.data);
        // The open ACL adds nothing, so the digests of requests recorded before ACLs existed still match.
        if (op.acl !== OPEN_ACL) aclInto(h, op.acl);
        break;
      case 'setACL':
        h.int(op.version);
        aclInto(h, op.acl);
        break;
      case 'setData':
        h.int(op.version);
        h.bytes(op.data);
        break;
      case 'delete':
      case 'check':
        h.int(op.version);
        break;
      default:
        assertNever(op);
    }
  }
  return h.hex();
}

/** The digest of the bytes alone (for testing the hash against FNV-1a's published vectors). */
export function fnv1a64Hex(data: Uint8Array): string {
  const h = new Fnv64();
  for (let i = 0; i < data.length; i++) h.byte(data[i]!);
  return h.hex();
}

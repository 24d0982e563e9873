/**
 * A gateway session's token: what another gateway needs to re-attach to the same ZooKeeper
 * session (its 64-bit id and password, the identities it was opened with and the opener's digest
 * credential the session's connection authenticates with), sealed with
 * AES-256-GCM under a key every gateway of the deployment shares. Without the key the token is
 * opaque and unforgeable: the ZooKeeper password inside is never readable by the client, and a
 * changed byte fails authentication.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface TokenPayload {
  readonly sessionId: bigint;
  readonly password: Uint8Array;
  /** The opener's identities (`scheme:id`): a request for the session must carry them too. */
  readonly identities: readonly string[];
  /** The negotiated timeout: a re-attach asks for the same (a connect renegotiates it). */
  readonly timeoutMs: number;
  /**
   * What the session's connection authenticates with (addauth): the opener's digest `user:password`,
   * so a gateway re-attaching reaches ZooKeeper as the same identity; empty: the gateway's own.
   */
  readonly auth: readonly ZkAuth[];
  /** The opener's `ip:` identities: listed with the session (who opened it from where), never checked. */
  readonly from?: readonly string[];
}

export interface ZkAuth {
  readonly scheme: string;
  readonly credential: Uint8Array;
}

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The 32-byte AES key of a --gateway-key secret (any length ≥ 16; hashed so every length fits). */
export function tokenKeyOf(secret: string): Buffer {
  return createHash('sha256').update('corral-gateway-token\0').update(secret, 'utf8').digest();
}

export function sealToken(key: Buffer, payload: TokenPayload): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const plain = Buffer.from(JSON.stringify({
    v: VERSION, s: BigInt.asUintN(64, payload.sessionId).toString(16), p: Buffer.from(payload.password).toString('base64'), i: payload.identities, t: payload.timeoutMs,
    a: payload.auth.map((x) => [x.scheme, Buffer.from(x.credential).toString('base64')]), f: payload.from ?? [],
  }));
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
}

/** The payload, or undefined for anything not sealed by this key (forged, altered, another key's, garbage). */
export function openToken(key: Buffer, token: string): TokenPayload | undefined {
  if (token.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  const raw = Buffer.from(token, 'base64url');
  if (raw.length <= IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
    const parsed = JSON.parse(plain.toString('utf8')) as { v: number; s: string; p: string; i: string[]; t: number; a?: unknown; f?: unknown };
    if (parsed.v !== VERSION || !/^[0-9a-f]{1,16}$/.test(parsed.s) || !Array.isArray(parsed.i) || !Number.isSafeInteger(parsed.t)) return undefined;
    // Tokens sealed before identities were carried have no `a`: the gateway's own identity, as then.
    const a = parsed.a ?? [];
    if (!Array.isArray(a) || !a.every((x) => Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && typeof x[1] === 'string')) return undefined;
    const auth = (a as [string, string][]).map(([scheme, c]) => ({ scheme, credential: Buffer.from(c, 'base64') }));
    // Tokens sealed before the opener's address was carried have no `f`.
    const from = Array.isArray(parsed.f) && parsed.f.every((x) => typeof x === 'string') ? (parsed.f as string[]) : [];
    return { sessionId: BigInt.asIntN(64, BigInt(`0x${parsed.s}`)), password: Buffer.from(parsed.p, 'base64'), identities: parsed.i, timeoutMs: parsed.t, auth, from };
  } catch {
    return undefined;
  }
}

/** Whether two payloads name the same ZooKeeper session with the same password (constant time in the password). */
export function samePassword(a: TokenPayload, b: TokenPayload): boolean {
  return a.sessionId === b.sessionId && a.password.length === b.password.length && timingSafeEqual(a.password, b.password);
}

/**
 * Bearer tokens: a JWT signed by a key of a JWKS file read once at start becomes `jwt:<sub>` and
 * `jwt-group:<name>` identities. Keys are never fetched over the network, so what a token can
 * prove is fixed by the operator's file; only asymmetric signatures are accepted, so nothing that
 * can verify a token can also mint one. A hostile token is a `{ ok: false }` value, never a throw.
 */
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, importJWK, jwtVerify, type JSONWebKeySet, type JWK, type JWSAlgorithm, type JWTPayload } from 'jose';

export interface JwtConfig {
  /** A JSON file `{"keys": [...]}` of public JWKs. */
  jwksFile: string;
  /** The `iss` every token must carry. */
  issuer: string;
  /** A value the token's `aud` must carry. */
  audience: string;
  /** A top-level claim whose strings become `jwt-group:<name>`; none when unset. */
  groupsClaim?: string;
  /** Leeway for `exp` and `nbf` against this node's clock; 30 s when unset. */
  clockToleranceSec?: number;
}

export type JwtVerdict =
  | {
      ok: true;
      identities: string[];
      /** The token's `exp` in ms since the epoch, if it has one: no one should trust it longer. */
      expiresAtMs?: number;
    }
  | { ok: false; reason: string };

export interface JwtVerifier {
  verify(token: string): Promise<JwtVerdict>;
}

/** Asymmetric signatures only: never `none`, never HMAC (a shared secret would let the server mint tokens). */
const ALGORITHMS: JWSAlgorithm[] = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512',
  'EdDSA', 'Ed25519', // Ed25519 is RFC 9864's fully specified name for EdDSA over Ed25519
];
const ALLOWED = new Set<string>(ALGORITHMS);

const DEFAULT_CLOCK_TOLERANCE_SEC = 30;
/** Far above any real token; stops a megabyte of base64 before it is decoded. */
const MAX_TOKEN_CHARS = 16_384;
const MAX_GROUPS = 64;
const MAX_GROUP_CHARS = 256;

/** Members that make a JWK private or secret: a file of verification keys must not hold them. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * Reads the JWKS file once and answers a verifier for tokens signed by its keys. Throws, naming the
 * file, when it cannot be read or parsed, holds private or secret key material, or has no public
 * key usable for an accepted algorithm: a node must not start with bearer auth that can never work.
 */
export async function loadJwtVerifier(config: JwtConfig): Promise<JwtVerifier> {
  const file = config.jwksFile;
  const fail = (why: string): Error => new Error(`JWT key set ${file}: ${why}`);
  if (config.issuer === '' || config.audience === '') throw fail('an issuer and an audience are needed');
  const tolerance = config.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
  if (!Number.isFinite(tolerance) || tolerance < 0) throw fail('the clock tolerance must be a number of seconds, 0 or more');

  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw fail(`cannot be read (${error instanceof Error ? error.message : String(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw fail(`is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.keys)) throw fail('is not a JWKS ({"keys": [...]})');
  const keys: JWK[] = [];
  for (const [i, jwk] of (parsed.keys as unknown[]).entries()) {
    if (!isRecord(jwk)) throw fail(`keys[${i}] is not an object`);
    if (SECRET_MEMBERS.some((m) => m in jwk)) throw fail(`keys[${i}] holds private or secret key material; give public keys only`);
    if (await isUsablePublicKey(jwk as JWK)) keys.push(jwk as JWK);
  }
  if (keys.length === 0) {
    throw fail(`has no usable public key (RSA, EC P-256/384/521 or Ed25519, for signatures, with an alg among ${ALGORITHMS.join(', ')} if it names one)`);
  }
  const keySet = createLocalJWKSet({ keys } satisfies JSONWebKeySet);
  const { issuer, audience, groupsClaim } = config;

  return {
    async verify(token: string): Promise<JwtVerdict> {
      if (typeof token !== 'string' || token.length === 0) return { ok: false, reason: 'the token is empty' };
      if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: 'the token is too long' };
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keySet, { issuer, audience, algorithms: ALGORITHMS, clockTolerance: tolerance }));
      } catch (error) {
        return { ok: false, reason: reasonOf(error) };
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') return { ok: false, reason: 'the token has no sub' };
      const identities = [`jwt:${payload.sub}`];
      if (groupsClaim !== undefined && groupsClaim !== '') {
        for (const group of groupsOf(payload[groupsClaim])) identities.push(`jwt-group:${group}`);
      }
      return typeof payload.exp === 'number' ? { ok: true, identities, expiresAtMs: payload.exp * 1000 } : { ok: true, identities };
    },
  };
}

/** A key jose can import for an accepted algorithm, meant for verifying signatures. */
async function isUsablePublicKey(jwk: JWK): Promise<boolean> {
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return false;
  const alg = jwk.alg ?? defaultAlgorithm(jwk);
  if (alg === undefined || !ALLOWED.has(alg)) return false;
  // jose refuses RSA under 2048 bits only when it verifies; refuse such a key here, at start.
  if (jwk.kty === 'RSA' && (typeof jwk.n !== 'string' || Buffer.from(jwk.n, 'base64url').length < 256)) return false;
  try {
    await importJWK(jwk, alg);
    return true;
  } catch {
    return false;
  }
}

/** The algorithm to try a key without `alg` under; any one its type allows proves it imports. */
function defaultAlgorithm(jwk: JWK): string | undefined {
  switch (jwk.kty) {
    case 'RSA':
      return 'RS256';
    case 'EC':
      return jwk.crv === 'P-256' ? 'ES256' : jwk.crv === 'P-384' ? 'ES384' : jwk.crv === 'P-521' ? 'ES512' : undefined;
    case 'OKP':
      return jwk.crv === 'Ed25519' ? 'EdDSA' : undefined;
    default:
      return undefined;
  }
}

/** The claim's group names: a string or the strings of an array, non-empty, bounded, each once. */
function groupsOf(claim: unknown): string[] {
  const values: unknown[] = typeof claim === 'string' ? [claim] : Array.isArray(claim) ? claim : [];
  const groups = new Set<string>();
  for (const value of values) {
    if (groups.size >= MAX_GROUPS) break;
    // Too long is skipped, not cut: a cut name could be another group's.
    if (typeof value === 'string' && value !== '' && value.length <= MAX_GROUP_CHARS) groups.add(value);
  }
  return [...groups];
}

/** A short reason from jose's error codes; never a stack, never the token's own text. */
function reasonOf(error: unknown): string {
  const { code, claim } = (isRecord(error) ? error : {}) as { code?: unknown; claim?: unknown };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss') return 'the token is from another issuer';
      if (claim === 'aud') return 'the token is for another audience';
      if (claim === 'nbf') return 'the token is not valid yet';
      return typeof claim === 'string' ? `the token's ${claim} claim is invalid` : 'a claim of the token is invalid';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the signature does not verify';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'no configured key verifies the token';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the token\'s algorithm is not accepted (asymmetric signatures only)';
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'the token needs a feature not supported here (such as an unknown crit header)';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'the token is malformed';
    default:
      return 'the token could not be verified';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

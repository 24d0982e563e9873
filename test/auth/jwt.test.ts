import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadJwtVerifier, type JwtConfig, type JwtVerifier } from '../../src/auth/jwt.ts';

const ISSUER = 'https://idp.example';
const AUDIENCE = 'corral';

let dir: string;
let jwksFile: string;
let rsa: CryptoKey;
let ec: CryptoKey;
let stranger: CryptoKey;
let rsaPublic: JWK;
let verifier: JwtVerifier;

const now = (): number => Math.floor(Date.now() / 1000);

/** A token from the test IdP: signed with the RSA key, right issuer and audience, one hour left. */
function token(claims: Record<string, unknown> = { sub: 'alice' }, key = rsa, header: Record<string, unknown> = { alg: 'RS256', kid: 'rsa-1' }) {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('1h');
}

async function jwks(name: string, keys: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, typeof keys === 'string' ? keys : JSON.stringify({ keys }));
  return file;
}

const config = (over: Partial<JwtConfig> = {}): JwtConfig => ({ jwksFile, issuer: ISSUER, audience: AUDIENCE, groupsClaim: 'groups', ...over });
const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'corral-jwt-'));
  const rsaPair = await generateKeyPair('RS256');
  const ecPair = await generateKeyPair('ES256');
  rsa = rsaPair.privateKey;
  ec = ecPair.privateKey;
  stranger = (await generateKeyPair('RS256')).privateKey;
  rsaPublic = { ...(await exportJWK(rsaPair.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  const ecPublic = { ...(await exportJWK(ecPair.publicKey)), kid: 'ec-1', alg: 'ES256' };
  jwksFile = await jwks('jwks.json', [rsaPublic, ecPublic]);
  verifier = await loadJwtVerifier(config());
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadJwtVerifier', () => {
  it('refuses a missing file, naming it', async () => {
    const missing = join(dir, 'nope.json');
    await expect(loadJwtVerifier(config({ jwksFile: missing }))).rejects.toThrow(`JWT key set ${missing}: cannot be read`);
  });

  it('refuses a file that is not JSON, naming it', async () => {
    const file = await jwks('garbage.json', '{"keys": [');
    await expect(loadJwtVerifier(config({ jwksFile: file }))).rejects.toThrow(`JWT key set ${file}: is not JSON`);
  });

  it('refuses JSON that is not a key set', async () => {
    for (const [name, text] of [['array.json', '[]'], ['nokeys.json', '{}'], ['keysobj.json', '{"keys": {}}']]) {
      const file = await jwks(name!, text);
      await expect(loadJwtVerifier(config({ jwksFile: file }))).rejects.toThrow(/not a JWKS/);
    }
  });

  it('refuses a key set with no usable public key', async () => {
    const x25519 = { kty: 'OKP', crv: 'X25519', x: 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo' };
    const encryption = { ...rsaPublic, use: 'enc', alg: undefined };
    const es256k = { kty: 'EC', crv: 'secp256k1', x: 'x', y: 'y' };
    for (const [name, keys] of [['empty.json', []], ['x25519.json', [x25519]], ['enc.json', [encryption]], ['k1.json', [es256k]], ['junk.json', [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }]]] as const) {
      const file = await jwks(name, keys);
      await expect(loadJwtVerifier(config({ jwksFile: file })), name).rejects.toThrow(/no usable public key/);
    }
  });

  it('refuses a key declared for a symmetric algorithm', async () => {
    const file = await jwks('hs.json', [{ ...rsaPublic, alg: 'HS256' }]);
    await expect(loadJwtVerifier(config({ jwksFile: file }))).rejects.toThrow(/no usable public key/);
  });

  it('refuses secret or private key material', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const secret = { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA' };
    for (const [name, keys] of [['private.json', [rsaPublic, await exportJWK(privateKey)]], ['oct.json', [secret]]] as const) {
      const file = await jwks(name, keys);
      await expect(loadJwtVerifier(config({ jwksFile: file })), name).rejects.toThrow(/private or secret/);
    }
  });

  it('refuses to run without an issuer or an audience', async () => {
    await expect(loadJwtVerifier(config({ issuer: '' }))).rejects.toThrow(/issuer and an audience/);
    await expect(loadJwtVerifier(config({ audience: '' }))).rejects.toThrow(/issuer and an audience/);
  });

  it('loads a set mixing usable and unusable keys, and uses the usable ones', async () => {
    const file = await jwks('mixed.json', [{ kty: 'OKP', crv: 'X25519', x: 'hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo' }, rsaPublic]);
    const mixed = await loadJwtVerifier(config({ jwksFile: file }));
    expect(await mixed.verify(await token().sign(rsa))).toMatchObject({ ok: true });
  });
});

describe('JwtVerifier.verify', () => {
  it('turns a valid RS256 token into jwt:<sub> and its groups, with its expiry', async () => {
    const verdict = await verifier.verify(await token({ sub: 'alice', groups: ['ops', 'dev'] }).sign(rsa));
    expect(verdict).toEqual({ ok: true, identities: ['jwt:alice', 'jwt-group:ops', 'jwt-group:dev'], expiresAtMs: expect.any(Number) });
    if (verdict.ok) expect(Math.abs(verdict.expiresAtMs! - (now() + 3600) * 1000)).toBeLessThanOrEqual(5000);
  });

  it('accepts an ES256 token signed by the other key of the set', async () => {
    const verdict = await verifier.verify(await token({ sub: 'bob' }, ec, { alg: 'ES256', kid: 'ec-1' }).sign(ec));
    expect(verdict).toMatchObject({ ok: true, identities: ['jwt:bob'] });
  });

  it('finds the key without a kid, by algorithm', async () => {
    const verdict = await verifier.verify(await token({ sub: 'bob' }, ec, { alg: 'ES256' }).sign(ec));
    expect(verdict).toMatchObject({ ok: true, identities: ['jwt:bob'] });
  });

  it('takes a single string as one group, and no groups without a groups claim configured', async () => {
    const signed = await token({ sub: 'alice', groups: 'ops' }).sign(rsa);
    expect(await verifier.verify(signed)).toMatchObject({ ok: true, identities: ['jwt:alice', 'jwt-group:ops'] });
    const plain = await loadJwtVerifier(config({ groupsClaim: undefined }));
    expect(await plain.verify(signed)).toMatchObject({ ok: true, identities: ['jwt:alice'] });
  });

  it('reads groups from the configured claim only', async () => {
    const roles = await loadJwtVerifier(config({ groupsClaim: 'roles' }));
    const verdict = await roles.verify(await token({ sub: 'alice', groups: ['ops'], roles: ['admin'] }).sign(rsa));
    expect(verdict).toMatchObject({ ok: true, identities: ['jwt:alice', 'jwt-group:admin'] });
  });

  it('bounds groups: at most 64, none empty, none over 256 characters, none repeated, strings only', async () => {
    const many = Array.from({ length: 100 }, (_, i) => `g${i}`);
    const verdict = await verifier.verify(await token({ sub: 'alice', groups: many }).sign(rsa));
    expect(verdict.ok && verdict.identities).toEqual(['jwt:alice', ...many.slice(0, 64).map((g) => `jwt-group:${g}`)]);

    const odd = ['', 'x'.repeat(257), 'y'.repeat(256), 7, null, { a: 1 }, ['nested'], 'ops', 'ops'];
    const bounded = await verifier.verify(await token({ sub: 'alice', groups: odd }).sign(rsa));
    expect(bounded.ok && bounded.identities).toEqual(['jwt:alice', `jwt-group:${'y'.repeat(256)}`, 'jwt-group:ops']);
  });

  it('ignores a groups claim of another type', async () => {
    const verdict = await verifier.verify(await token({ sub: 'alice', groups: { ops: true } }).sign(rsa));
    expect(verdict).toMatchObject({ ok: true, identities: ['jwt:alice'] });
  });

  it('refuses an expired token', async () => {
    const verdict = await verifier.verify(await token().setExpirationTime(now() - 3600).sign(rsa));
    expect(verdict).toEqual({ ok: false, reason: 'the token has expired' });
  });

  it('allows expiry within the clock tolerance, and not beyond it', async () => {
    const justExpired = await token().setExpirationTime(now() - 10).sign(rsa);
    expect(await verifier.verify(justExpired)).toMatchObject({ ok: true });
    const strict = await loadJwtVerifier(config({ clockToleranceSec: 0 }));
    expect(await strict.verify(justExpired)).toEqual({ ok: false, reason: 'the token has expired' });
  });

  it('refuses a token not valid yet', async () => {
    const verdict = await verifier.verify(await token().setNotBefore(now() + 3600).sign(rsa));
    expect(verdict).toEqual({ ok: false, reason: 'the token is not valid yet' });
  });

  it('refuses a token from another issuer', async () => {
    const verdict = await verifier.verify(await token().setIssuer('https://evil.example').sign(rsa));
    expect(verdict).toEqual({ ok: false, reason: 'the token is from another issuer' });
  });

  it('refuses a token for another audience, and accepts ours among several', async () => {
    expect(await verifier.verify(await token().setAudience('other').sign(rsa))).toEqual({ ok: false, reason: 'the token is for another audience' });
    expect(await verifier.verify(await token().setAudience(['other', AUDIENCE]).sign(rsa))).toMatchObject({ ok: true });
  });

  it('refuses a token without iss or aud', async () => {
    const noIss = new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256' }).setAudience(AUDIENCE).setExpirationTime('1h');
    const noAud = new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256' }).setIssuer(ISSUER).setExpirationTime('1h');
    expect(await verifier.verify(await noIss.sign(rsa))).toMatchObject({ ok: false });
    expect(await verifier.verify(await noAud.sign(rsa))).toMatchObject({ ok: false });
  });

  it('refuses a token signed by a key not in the set, even under a known kid', async () => {
    expect(await verifier.verify(await token().sign(stranger))).toEqual({ ok: false, reason: 'the signature does not verify' });
    const unknownKid = await token({ sub: 'alice' }, stranger, { alg: 'RS256', kid: 'who' }).sign(stranger);
    expect(await verifier.verify(unknownKid)).toEqual({ ok: false, reason: 'no configured key verifies the token' });
  });

  it('refuses an unsigned alg:none token', async () => {
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'admin', iss: ISSUER, aud: AUDIENCE, exp: now() + 3600 })}.`;
    expect(await verifier.verify(unsigned)).toEqual({ ok: false, reason: 'the token\'s algorithm is not accepted (asymmetric signatures only)' });
  });

  it('refuses HS256, even keyed with the public key itself (the algorithm-confusion attack)', async () => {
    const secret = new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!');
    const hs = await token({ sub: 'admin' }, rsa, { alg: 'HS256', kid: 'rsa-1' }).sign(secret);
    expect(await verifier.verify(hs)).toEqual({ ok: false, reason: 'the token\'s algorithm is not accepted (asymmetric signatures only)' });
    const confused = await token({ sub: 'admin' }, rsa, { alg: 'HS256', kid: 'rsa-1' }).sign(new TextEncoder().encode(JSON.stringify(rsaPublic)));
    expect(await verifier.verify(confused)).toMatchObject({ ok: false });
  });

  it('refuses a token without a non-empty string sub', async () => {
    for (const claims of [{}, { sub: '' }, { sub: 42 }, { sub: ['alice'] }]) {
      expect(await verifier.verify(await token(claims).sign(rsa)), JSON.stringify(claims)).toEqual({ ok: false, reason: 'the token has no sub' });
    }
  });

  it('answers garbage with a reason, never a throw', async () => {
    const body = b64url({ sub: 'alice' });
    for (const garbage of ['', 'not-a-jwt', 'a.b.c', '....', `${b64url({ alg: 'RS256' })}.${body}.!!!`, `${b64url([1])}.${body}.`, `${b64url({ alg: 'RS256', crit: ['x'] })}.${body}.AAAA`, 'x'.repeat(100_000)]) {
      const verdict = await verifier.verify(garbage);
      expect(verdict.ok, garbage.slice(0, 40)).toBe(false);
      if (!verdict.ok) expect(verdict.reason).toMatch(/^the token|^no configured key|^the signature/);
    }
    expect(await verifier.verify(undefined as unknown as string)).toEqual({ ok: false, reason: 'the token is empty' });
  });

  it('refuses a payload that is not a claims object', async () => {
    const signed = await new CompactSign(new TextEncoder().encode('["sub", "alice"]')).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).sign(rsa);
    expect(await verifier.verify(signed)).toEqual({ ok: false, reason: 'the token is malformed' });
  });

  describe('with a key URL in the token header', () => {
    let server: Server;
    let requests = 0;
    beforeAll(async () => {
      server = createServer((_, res) => {
        requests++;
        res.end('{}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('never fetches it: only the file\'s keys count', async () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
      const verdict = await verifier.verify(await token({ sub: 'alice' }, stranger, { alg: 'RS256', kid: 'x', jku: url, x5u: url }).sign(stranger));
      expect(verdict).toMatchObject({ ok: false });
      expect(requests).toBe(0);
    });
  });
});

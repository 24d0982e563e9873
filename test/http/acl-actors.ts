/**
 * Who calls in the permission-matrix test (permission-matrix.e2e.test.ts): the identities a request
 * can prove over HTTP, as headers, and the node configuration that makes them provable.
 *
 * - anonymous: no Authorization header; the node sees only `ip:127.0.0.1`;
 * - bob: HTTP Basic bob:secret → `digest:bob:base64(sha1('bob:secret'))`;
 * - alice: a bearer JWT with sub alice (group dev) → `jwt:alice`, `jwt-group:dev`;
 * - carol: a bearer JWT with sub carol (group ops) → `jwt:carol`, `jwt-group:ops`;
 * - super: HTTP Basic super:test, the node's --super-digest → `super:` as well.
 *
 * The JWTs are signed by a key pair made here, whose public half is written to a JWKS file in the
 * given directory; `serverOptions` points the node at it.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { ServerOptions } from '../../src/server.ts';
import { fetchJson } from '../support/fetch-json.ts';

export type ActorName = 'anonymous' | 'bob' | 'alice' | 'carol' | 'super';
export const ACTOR_NAMES: readonly ActorName[] = ['anonymous', 'bob', 'alice', 'carol', 'super'];

/** ZooKeeper's digest id: `user:base64(sha1('user:password'))`. */
export const digestId = (user: string, password: string): string =>
  `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;

const basic = (user: string, password: string): Record<string, string> =>
  ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

export const BOB_DIGEST = digestId('bob', 'secret');
export const SUPER_DIGEST = digestId('super', 'test');

const ISSUER = 'https://sso.permission-matrix.test';
const AUDIENCE = 'corral';
const GROUPS_CLAIM = 'groups';

export interface Actors {
  /** The Authorization header each actor sends (none for anonymous). */
  readonly headers: Readonly<Record<ActorName, Readonly<Record<string, string>>>>;
  /** What startServer needs to accept these actors: the superuser's digest and the JWT settings. */
  readonly serverOptions: ServerOptions;
}

/** Makes the signing key, writes its JWKS into `dir`, and signs the two tokens (valid for 10 minutes). */
export async function makeActors(dir: string): Promise<Actors> {
  const keys = await generateKeyPair('ES256');
  const jwks = join(dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'pm-1', alg: 'ES256', use: 'sig' }] }));
  const bearer = async (sub: string, groups: string[]) => ({
    authorization: `Bearer ${await new SignJWT({ sub, [GROUPS_CLAIM]: groups }).setProtectedHeader({ alg: 'ES256', kid: 'pm-1' })
      .setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('10m').sign(keys.privateKey)}`,
  });
  return {
    headers: {
      anonymous: {},
      bob: basic('bob', 'secret'),
      alice: await bearer('alice', ['dev']),
      carol: await bearer('carol', ['ops']),
      super: basic('super', 'test'),
    },
    serverOptions: {
      superDigest: SUPER_DIGEST, jwtJwks: jwks, jwtIssuer: ISSUER, jwtAudience: AUDIENCE, jwtGroupsClaim: GROUPS_CLAIM,
    },
  };
}

export interface Answer {
  readonly status: number;
  readonly body: any;
}

const REQUEST_TIMEOUT_MS = 5000;

/** One request to the node; a JSON body for an object, as is for a string. Bounded by a timeout. */
export const call = (method: string, url: string, headers: Readonly<Record<string, string>> = {}, body?: string | object): Promise<Answer> =>
  fetchJson(method, url, { headers, body, timeoutMs: REQUEST_TIMEOUT_MS });

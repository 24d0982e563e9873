/**
 * The pipeline's authenticate step: turns what a request carries into ZooKeeper-form identities
 * (`scheme:id`), the same way whatever road the request took (Hono app, direct path, wire path).
 *
 * - no Authorization header: anonymous (only `ip:<address>` in its auth);
 * - `Basic user:password` → `digest:user:BASE64(SHA1(user:password))` (ZooKeeper's digest), plus
 *   `super:` when it is the configured superuser's (--super-digest);
 * - `Bearer <JWT>` → `jwt:<sub>` and `jwt-group:<g>`, verified against the configured JWKS file;
 * - anything else in Authorization, or a credential that fails, is AUTHFAILED: never anonymous;
 * - a client certificate the TLS layer verified against --tls-ca → `x509:<subject DN>`
 *   (ZooKeeper's X509AuthenticationProvider naming, see x509-name.ts), alone or besides the
 *   Authorization header's identities.
 *
 * Answers are cached per (credential, address), bounded, so a client sending the same header on
 * every request costs a Map lookup; a token's cached identities end with its `exp`.
 */
import type { X509Certificate } from 'node:crypto';
import { zkError, type ZkError } from '../core/errors.ts';
import { SUPER_IDENTITY } from '../core/acl/check.ts';
import type { Caller } from '../backend/backend.ts';
import { digestOf, parseBasic } from './digest.ts';
import { digestCredentialOf, rememberDigestCredential } from './proven-credentials.ts';
import type { JwtVerifier } from './jwt.ts';
import { x509IdentityOf } from './x509-name.ts';

/** What authentication reads of a request. */
export interface Credentials {
  /** The Authorization header, if any. */
  readonly authorization: string | undefined;
  /** The connection's peer address (IPv4-mapped IPv6 as Node gives it). */
  readonly address: string | undefined;
  /**
   * The connection's client certificate, only when TLS verified it against the CA
   * (`socket.authorized === true`); one object per connection, so its identity is cached on it.
   */
  readonly certificate?: X509Certificate | undefined;
}

export interface AuthenticatorOptions {
  /** ZooKeeper's superDigest, `user:BASE64(SHA1(user:password))`: its holder passes every ACL. */
  readonly superDigest?: string | undefined;
  readonly jwt?: JwtVerifier | undefined;
  readonly nowMs?: () => number;
}

export type Authenticated = Caller | ZkError;

const CACHED_MAX = 10_000;
/** A Basic header with its address longer than this is verified each time, never remembered. */
const CACHED_KEY_CHARS_MAX = 320;
/** How long a verified token is trusted without verifying again, at most (its own exp bounds it too). */
const TOKEN_CACHE_MS = 60_000;

interface CachedToken {
  readonly identities: readonly string[];
  readonly untilMs: number;
}

export class Authenticator {
  private readonly anonymous = new Map<string, Caller>();
  private readonly basic = new Map<string, Authenticated>();
  private readonly tokens = new Map<string, CachedToken>();
  /** A certificate's identity (null: its subject names nobody), per certificate object (per connection). */
  private readonly x509 = new WeakMap<X509Certificate, string | null>();
  private readonly certified = new Map<string, Caller>();
  private readonly nowMs: () => number;

  constructor(private readonly options: AuthenticatorOptions = {}) {
    this.nowMs = options.nowMs ?? Date.now;
  }

  /** The WWW-Authenticate header of a 401: the schemes this node accepts. */
  get challenge(): string {
    return this.options.jwt === undefined ? 'Basic realm="corral"' : 'Basic realm="corral", Bearer realm="corral"';
  }

  /** The caller, or AUTHFAILED; a promise only for a bearer token not verified recently. */
  authenticate(credentials: Credentials): Authenticated | Promise<Authenticated> {
    const address = normalAddress(credentials.address);
    const header = credentials.authorization;
    const x509 = credentials.certificate === undefined ? undefined : this.x509IdentityOf(credentials.certificate);
    if (header === undefined) return x509 === undefined ? this.anonymousAt(address) : this.certifiedAt(x509, address);
    const answer = this.headerCaller(header, address);
    if (x509 === undefined) return answer;
    return answer instanceof Promise ? answer.then((a) => withIdentity(a, x509)) : withIdentity(answer, x509);
  }

  private headerCaller(header: string, address: string): Authenticated | Promise<Authenticated> {
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    if (scheme === 'basic') return this.basicCaller(header, address);
    if (scheme === 'bearer') return this.bearerCaller(header.slice(space + 1).trim(), address);
    return zkError('AUTHFAILED', `the ${scheme || 'empty'} authorization scheme is not accepted (Basic or Bearer)`);
  }

  private x509IdentityOf(certificate: X509Certificate): string | undefined {
    let identity = this.x509.get(certificate);
    if (identity === undefined) {
      identity = x509IdentityOf(certificate) ?? null;
      this.x509.set(certificate, identity);
    }
    return identity ?? undefined;
  }

  /** A certificate's caller without an Authorization header: one frozen value per (identity, address). */
  private certifiedAt(x509: string, address: string): Caller {
    const key = `${address}\n${x509}`;
    let caller = this.certified.get(key);
    if (caller === undefined) {
      caller = callerWith([x509], address);
      if (key.length > CACHED_KEY_CHARS_MAX * 4) return caller;
      if (this.certified.size >= CACHED_MAX) this.certified.clear();
      this.certified.set(key, caller);
    }
    return caller;
  }

  /** One frozen value per address: no allocation per request on the hot path. */
  private anonymousAt(address: string): Caller {
    let caller = this.anonymous.get(address);
    if (caller === undefined) {
      if (this.anonymous.size >= CACHED_MAX) this.anonymous.clear();
      caller = callerWith([], address);
      this.anonymous.set(address, caller);
    }
    return caller;
  }

  private basicCaller(header: string, address: string): Authenticated {
    const key = `${address}\n${header}`;
    let answer = this.basic.get(key);
    if (answer === undefined) {
      const parsed = parseBasic(header);
      if (parsed === undefined) {
        answer = zkError('AUTHFAILED', 'the Basic credentials are malformed (base64 of user:password)');
      } else {
        const digest = digestOf(parsed.user, parsed.password);
        const identities = digest === this.options.superDigest ? [`digest:${digest}`, SUPER_IDENTITY] : [`digest:${digest}`];
        answer = rememberDigestCredential(callerWith(identities, address), `${parsed.user}:${parsed.password}`);
      }
      // Only well-formed, short credentials are remembered: any client can send 10,000 distinct
      // 16 KB headers, and those would otherwise hold 160 MB until the next clear.
      if ('code' in answer || key.length > CACHED_KEY_CHARS_MAX) return answer;
      if (this.basic.size >= CACHED_MAX) this.basic.clear();
      this.basic.set(key, answer);
    }
    return answer;
  }

  /** Credentials remembered (for tests of the cache's bounds). */
  get cachedCredentials(): number {
    return this.basic.size;
  }

  private bearerCaller(token: string, address: string): Authenticated | Promise<Authenticated> {
    const { jwt } = this.options;
    if (jwt === undefined) return zkError('AUTHFAILED', 'bearer tokens are not accepted here (no --jwt-jwks configured)');
    const cached = this.tokens.get(token);
    const now = this.nowMs();
    if (cached !== undefined && cached.untilMs > now) return callerWith(cached.identities, address);
    return jwt.verify(token).then((verdict): Authenticated => {
      if (!verdict.ok) {
        this.tokens.delete(token);
        return zkError('AUTHFAILED', `the bearer token is not accepted: ${verdict.reason}`);
      }
      const untilMs = Math.min(now + TOKEN_CACHE_MS, verdict.expiresAtMs ?? Number.POSITIVE_INFINITY);
      if (this.tokens.size >= CACHED_MAX) this.tokens.clear();
      this.tokens.set(token, { identities: verdict.identities, untilMs });
      return callerWith(verdict.identities, address);
    });
  }
}

/** A header's caller with the connection's certificate identity too (a refusal stays a refusal). */
function withIdentity(answer: Authenticated, x509: string): Authenticated {
  if ('code' in answer || answer.identities.includes(x509)) return answer;
  const caller = callerWith([...answer.identities, x509], answer.address);
  const digest = digestCredentialOf(answer);
  return digest === undefined ? caller : rememberDigestCredential(caller, digest);
}

function callerWith(identities: readonly string[], address: string): Caller {
  return Object.freeze({
    identities: Object.freeze([...identities]),
    address,
    auth: Object.freeze([...identities, `ip:${address}`]),
  });
}

/** `::ffff:127.0.0.1` is 127.0.0.1: one client, one address, whichever socket family it used. */
export function normalAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Whether a caller proved an identity (anything beyond world and ip): what --auth-required asks. */
export function isAuthenticated(caller: Caller): boolean {
  return caller.identities.length > 0;
}

/**
 * Whom a per-caller limit counts: the caller's strongest identity that it cannot make up. A
 * verified one — `x509:` (a certificate the CA signed), `jwt:` (a token the JWKS keys signed),
 * `super:` (the configured superuser) — names the same client from any address. Otherwise the
 * client is its address (`ip:`), as ZooKeeper's maxClientCnxns counts by address.
 *
 * A `digest:` identity is NOT a key: it is claimed, not verified (any user:password is a valid
 * digest, as ZooKeeper's addauth never fails), so a client sending new made-up credentials with
 * each request would otherwise be a new caller each time and escape every limit. Groups
 * (`jwt-group:`) are shared by many callers and never name one.
 */

const VERIFIED = ['x509:', 'jwt:', 'super:'];

/** The key of `auth` (a caller's identities, then its `ip:` one, as the Authenticator orders them). */
export function limitKeyOf(auth: readonly string[]): string {
  let address: string | undefined;
  for (const identity of auth) {
    if (VERIFIED.some((prefix) => identity.startsWith(prefix))) return identity;
    if (identity.startsWith('ip:')) address ??= identity;
  }
  return address ?? 'ip:unknown';
}

/**
 * The credential a caller proved, kept beside its Caller (never in it): a backend that must
 * present the caller's identity again to another system (a ZooKeeper gateway's addauth digest)
 * needs `user:password`, not only the digest. A WeakMap keyed by the frozen Caller, so the secret
 * is never enumerated, serialised or logged with the Caller, and goes when the Caller does.
 */
import type { Caller } from '../backend/backend.ts';

const digestCredentials = new WeakMap<Caller, string>();

/** The caller proved `user:password` over HTTP Basic (its identity is digest:user:hash of it). */
export function rememberDigestCredential(caller: Caller, userColonPassword: string): Caller {
  digestCredentials.set(caller, userColonPassword);
  return caller;
}

/** `user:password` of the caller's digest identity, when it proved one over Basic. */
export function digestCredentialOf(caller: Caller): string | undefined {
  return digestCredentials.get(caller);
}

/**
 * The pipeline's authenticate step: who a request comes from, as ZooKeeper-form identities
 * (`scheme:id`) plus the peer address. Every carrier (the Hono app, the direct paths) calls this
 * one function with what it has of the request, so a request is judged the same whatever road
 * it took. For now no scheme is configured and every caller is anonymous: this is the hook the
 * identities issue fills (Basic → digest, client certificates → x509, bearer tokens → jwt).
 */
import type { Context } from 'hono';
import type { Caller } from '../backend/backend.ts';
import { remoteAddressOf } from './request-env.ts';

/** What authentication reads of a request. */
export interface Credentials {
  /** A header by lower-case name. */
  header(name: string): string | undefined;
  /** The connection's peer address (IPv4-mapped IPv6 as Node gives it). */
  readonly address: string | undefined;
}

const ANONYMOUS_AT = new Map<string, Caller>();
const ADDRESSES_REMEMBERED_MAX = 10_000;

/** The caller of a request: no identities yet (anonymous), and where it came from. */
export function callerOf(credentials: Credentials): Caller {
  const address = normalAddress(credentials.address);
  // One frozen value per address: no allocation per request on the hot path.
  let caller = ANONYMOUS_AT.get(address);
  if (caller === undefined) {
    if (ANONYMOUS_AT.size >= ADDRESSES_REMEMBERED_MAX) ANONYMOUS_AT.clear();
    caller = Object.freeze({ identities: Object.freeze([]) as readonly string[], address });
    ANONYMOUS_AT.set(address, caller);
  }
  return caller;
}

/** `::ffff:127.0.0.1` is 127.0.0.1: one client, one address, whichever socket family it used. */
function normalAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

const callers = new WeakMap<Request, Caller>();

/** The caller of a Hono request (authenticated once per request). */
export function callerOfContext(c: Context): Caller {
  let caller = callers.get(c.req.raw);
  if (caller === undefined) {
    caller = callerOf({ header: (name) => c.req.header(name), address: remoteAddressOf(c) });
    callers.set(c.req.raw, caller);
  }
  return caller;
}

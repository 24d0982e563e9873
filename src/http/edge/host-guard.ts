/**
 * Which Host names a node answers to (--allowed-hosts): the defence against DNS rebinding. A page
 * on evil.example whose name is made to resolve to 127.0.0.1 talks to a node on loopback as its
 * own origin — the browser sends `Host: evil.example:8181` and, for the page, the request is
 * same-origin, so neither CORS nor an Origin check stops it. Refusing Host names the node is not
 * known by does.
 *
 * Policy: the configured list (`*` for any); without one, the loopback names (localhost,
 * 127.0.0.1, [::1] and the bound address, any port) when the node is bound to a loopback
 * address, else any Host. A refused request is 403 NOAUTH on every carrier. A request without a
 * Host (HTTP/1.0) passes: a browser always sends one.
 */
import { zkError, type ZkError } from '../../core/errors.ts';

export type HostPolicy =
  | { readonly any: true }
  | {
    readonly any: false;
    /** Names allowed on any port (lower case, IPv6 in brackets). */
    readonly names: ReadonlySet<string>;
    /** `name:port` pairs allowed on that port only. */
    readonly namesWithPort: ReadonlySet<string>;
  };

const NAME = /^(?:[a-z0-9_][a-z0-9_.-]*|\[[0-9a-f:.]+\])$/;

/** A Host value (or an --allowed-hosts entry) as name and port: lower case, IPv6 bracketed. */
export function splitHost(value: string): { readonly name: string; readonly port: string | undefined } | undefined {
  const text = value.trim().toLowerCase();
  let name = text;
  let port: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end === -1) return undefined;
    name = text.slice(0, end + 1);
    const rest = text.slice(end + 1);
    if (rest !== '') {
      if (!/^:\d{1,5}$/.test(rest)) return undefined;
      port = rest.slice(1);
    }
  } else if ((text.match(/:/g)?.length ?? 0) > 1) {
    name = `[${text}]`; // a bare IPv6 address (only in configuration: a Host header brackets it)
  } else {
    const colon = text.indexOf(':');
    if (colon !== -1) {
      name = text.slice(0, colon);
      port = text.slice(colon + 1);
      if (!/^\d{1,5}$/.test(port)) return undefined;
    }
  }
  return NAME.test(name) ? { name, port } : undefined;
}

/** Throws on an entry that names no host (config.ts reports it as a configuration error). */
export function checkAllowedHost(entry: string): void {
  if (entry !== '*' && splitHost(entry) === undefined) {
    throw new Error(`--allowed-hosts (CORRAL_ALLOWED_HOSTS) entries are host names or addresses with an optional :port, or *; got "${entry}"`);
  }
}

const LOOPBACK_BIND = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|\[::1\]|localhost)$/i;
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** The policy for a node bound to `bindHost` with `allowed` configured (empty: the default). */
export function hostPolicyOf(bindHost: string, allowed: readonly string[]): HostPolicy {
  if (allowed.includes('*')) return { any: true };
  let entries = allowed;
  if (entries.length === 0) {
    if (!LOOPBACK_BIND.test(bindHost)) return { any: true };
    entries = [...LOOPBACK_NAMES, bindHost];
  }
  const names = new Set<string>();
  const namesWithPort = new Set<string>();
  for (const entry of entries) {
    const host = splitHost(entry);
    if (host === undefined) continue; // refused by the configuration check; the bound address may be anything
    if (host.port === undefined) names.add(host.name);
    else namesWithPort.add(`${host.name}:${Number(host.port)}`);
  }
  return { any: false, names, namesWithPort };
}

/** Answers per Host value: clients repeat theirs, and splitting one costs more than the rest of a read. */
const answers = new WeakMap<HostPolicy, Map<string, boolean>>();
const ANSWERS_MAX = 256;
/** A DNS name is at most 253 characters; with a port, a little more. */
const HOST_CACHED_CHARS_MAX = 262;

/** Whether a request naming `host` (its Host header, or HTTP/2's :authority) passes the policy. */
export function hostAllowed(policy: HostPolicy, host: string | undefined): boolean {
  // No Host (HTTP/1.0) or an empty one: not a browser's request, so not DNS rebinding.
  if (policy.any || host === undefined || host === '') return true;
  let known = answers.get(policy);
  if (known === undefined) answers.set(policy, known = new Map());
  let allowed = known.get(host);
  if (allowed === undefined) {
    allowed = decide(policy, host);
    // Bounded: a client sending a new Host each time costs a split each time, never memory.
    if (host.length > HOST_CACHED_CHARS_MAX) return allowed;
    if (known.size >= ANSWERS_MAX) known.clear();
    known.set(host, allowed);
  }
  return allowed;
}

function decide(policy: HostPolicy & { readonly any: false }, host: string): boolean {
  const parts = splitHost(host);
  if (parts === undefined) return false;
  if (policy.names.has(parts.name)) return true;
  return parts.port !== undefined && policy.namesWithPort.has(`${parts.name}:${Number(parts.port)}`);
}

/** 403 NOAUTH for a Host the node does not answer to, else undefined. */
export function hostRefusal(policy: HostPolicy, host: string | undefined): ZkError | undefined {
  if (hostAllowed(policy, host)) return undefined;
  return zkError('NOAUTH', `Host ${JSON.stringify((host ?? '').slice(0, 100))} is not one this node answers to (see --allowed-hosts)`);
}

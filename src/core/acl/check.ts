/**
 * The two ACL rules every write and read goes through, as ZooKeeper 3.9 has them
 * (ZooKeeperServer.checkACL and PrepRequestProcessor.fixupACL):
 *
 * - permits(): does any entry with the permission bit match one of the caller's identities?
 *   `world:anyone` matches everyone, `ip` entries match an address or CIDR range, the other
 *   schemes match an identity equal to the entry; a superuser passes; an empty ACL permits all.
 * - fixupAcl(): the ACL a create or setACL stores: `auth` entries become the caller's
 *   authenticated identities, each other entry must be valid for its scheme, duplicates go.
 *
 * A caller's identities (`auth`) are `scheme:id` strings: what authentication found, plus
 * `ip:<address>` (see src/http/caller.ts). Pure.
 */
import { zkError, type ZkError } from '../errors.ts';
import { OPEN_ACL, PERM, type Acl, type AclEntry } from './acl.ts';
import { ipMatches, isValidIpAclId } from './ip.ts';

/** The identity authentication adds for the configured superuser (ZooKeeper's `super:`). */
export const SUPER_IDENTITY = 'super:';

/** Schemes whose identities a caller proved (ZooKeeper's isAuthenticated): what `auth` expands to. */
const AUTHENTICATED_SCHEMES = new Set(['digest', 'x509', 'jwt']);

export function permits(acl: Acl, perm: number, auth: readonly string[]): boolean {
  if (acl === OPEN_ACL || acl.length === 0) return true;
  for (let i = 0; i < acl.length; i++) {
    const e = acl[i]!;
    if ((e.perms & perm) === 0) continue;
    if (e.scheme === 'world' && e.id === 'anyone') return true;
    if (matchesAny(e, auth)) return true;
  }
  return auth.includes(SUPER_IDENTITY);
}

function matchesAny(e: AclEntry, auth: readonly string[]): boolean {
  const prefix = e.scheme.length;
  for (let i = 0; i < auth.length; i++) {
    const who = auth[i]!;
    if (who.length <= prefix || who.charCodeAt(prefix) !== 58 /* : */ || !who.startsWith(e.scheme)) continue;
    const id = who.slice(prefix + 1);
    if (e.scheme === 'ip' ? ipMatches(e.id, id) : id === e.id) return true;
  }
  return false;
}

/** Whether a create or setACL may store this entry as given. */
function isValidEntry(e: AclEntry): boolean {
  switch (e.scheme) {
    case 'world':
      return e.id === 'anyone';
    case 'digest':
      // DigestAuthenticationProvider.isValid: `user:hash`, split on colons as Java does (trailing empty parts dropped).
      return splitLikeJava(e.id).length === 2;
    case 'ip':
      return isValidIpAclId(e.id);
    case 'x509':
    case 'jwt':
    case 'jwt-group':
      return e.id.length > 0;
    default:
      // No provider for the scheme (ZooKeeper: `ap == null`), `super` included.
      return false;
  }
}

function splitLikeJava(id: string): string[] {
  const parts = id.split(':');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * The ACL to store for a create or setACL by a caller with these identities, or INVALIDACL:
 * empty, an entry no scheme accepts, or `auth` from a caller with no authenticated identity.
 */
export function fixupAcl(acl: Acl, auth: readonly string[], path: string): Acl | ZkError {
  // Duplicates in the request go first (removeDuplicates); entries `auth` expands to are kept as they come.
  const seen = new Set<string>();
  const unique = acl.filter((e) => {
    const key = `${e.perms}\n${e.scheme}\n${e.id}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  if (unique.length === 0) return zkError('INVALIDACL', 'the ACL is empty', path);
  const out: AclEntry[] = [];
  for (const e of unique) {
    if (e.scheme === 'auth') {
      let found = false;
      for (const who of auth) {
        const colon = who.indexOf(':');
        const scheme = who.slice(0, colon);
        if (!AUTHENTICATED_SCHEMES.has(scheme)) continue;
        found = true;
        out.push({ perms: e.perms, scheme, id: who.slice(colon + 1) });
      }
      if (!found) return zkError('INVALIDACL', "an 'auth' entry needs an authenticated caller", path);
    } else if (!isValidEntry(e)) {
      return zkError('INVALIDACL', `'${e.scheme}:${e.id}' is not a valid ACL id`, path);
    } else {
      out.push(e);
    }
  }
  return out;
}

/**
 * What getACL shows (ZooKeeper 3.9, ZOOKEEPER-1392): NOAUTH without READ or ADMIN; the whole ACL
 * with ADMIN; else digest hashes replaced by `x` (`bob:x`), so a reader cannot try passwords offline.
 */
export function visibleAcl(acl: Acl, auth: readonly string[]): Acl | ZkError {
  if (!permits(acl, PERM.READ | PERM.ADMIN, auth)) return zkError('NOAUTH', 'getACL needs READ or ADMIN on the node');
  if (permits(acl, PERM.ADMIN, auth)) return acl;
  return acl.map((e) => (e.scheme === 'digest' ? { ...e, id: e.id.replace(/:.*/s, ':x') } : e));
}

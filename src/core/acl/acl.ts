/**
 * ZooKeeper's ACLs as values: an entry grants permission bits to one identity (`scheme:id`), a
 * node's ACL is a list of entries, and the same list is written as zkCli writes it
 * (`digest:bob:HASH:cdrwa,world:anyone:r`) or as JSON (`[{perms: "cdrwa", scheme, id}]`).
 * Pure: parsing answers a ZkError value on bad input, never throws.
 */
import { zkError, type ZkError } from '../errors.ts';

/** ZooKeeper's ZooDefs.Perms bits. */
export const PERM = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

export interface AclEntry {
  /** A mask of PERM bits. */
  readonly perms: number;
  readonly scheme: string;
  readonly id: string;
}

/** A node's ACL. Interned (see AclCache): nodes with equal ACLs share one frozen array. */
export type Acl = readonly AclEntry[];

const entry = (perms: number, scheme: string, id: string): AclEntry => Object.freeze({ perms, scheme, id });

/** ZooKeeper's OPEN_ACL_UNSAFE: the ACL of a node created without one. */
export const OPEN_ACL: Acl = Object.freeze([entry(PERM.ALL, 'world', 'anyone')]);
/** ZooKeeper's READ_ACL_UNSAFE: /zookeeper/config's. */
export const READ_ACL: Acl = Object.freeze([entry(PERM.READ, 'world', 'anyone')]);

/** zkCli's letters, in the order it prints them. */
const LETTERS: ReadonlyArray<readonly [string, number]> = [
  ['c', PERM.CREATE], ['d', PERM.DELETE], ['r', PERM.READ], ['w', PERM.WRITE], ['a', PERM.ADMIN],
];

export function formatPerms(perms: number): string {
  let text = '';
  for (const [letter, bit] of LETTERS) if (perms & bit) text += letter;
  return text;
}

/** `cdrwa` letters in any order (each at most once), or undefined. */
export function parsePerms(text: string): number | undefined {
  let perms = 0;
  for (const ch of text) {
    const bit = LETTERS.find(([letter]) => letter === ch)?.[1];
    if (bit === undefined || perms & bit) return undefined;
    perms |= bit;
  }
  return perms;
}

export function formatAcl(acl: Acl): string {
  return acl.map((e) => `${e.scheme}:${e.id}:${formatPerms(e.perms)}`).join(',');
}

/** Bounds on what a client may send: an ACL is small, and so is each id. */
const ACL_ENTRIES_MAX = 64;
const ID_CHARS_MAX = 1024;
const SCHEME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

const invalid = (message: string, path?: string): ZkError => zkError('INVALIDACL', message, path);

/**
 * zkCli's compact form: entries split on commas, each `scheme:id:perms` where the id is
 * everything between the first and the last colon (digest ids and IPv6 addresses hold colons).
 * A value starting with `[` is the JSON form (an id with a comma, such as an x509 DN, needs it).
 */
export function parseAclText(text: string, path?: string): Acl | ZkError {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      return invalid('the ACL is not valid JSON', path);
    }
    return parseAclJson(json, path);
  }
  if (trimmed === '') return invalid('the ACL is empty', path);
  const parts = trimmed.split(',');
  if (parts.length > ACL_ENTRIES_MAX) return invalid(`an ACL has at most ${ACL_ENTRIES_MAX} entries`, path);
  const entries: AclEntry[] = [];
  for (const part of parts) {
    const text = part.trim();
    const first = text.indexOf(':');
    const last = text.lastIndexOf(':');
    if (first < 0 || last === first) return invalid(`ACL entry '${text}' is not scheme:id:perms`, path);
    const made = makeEntry(text.slice(last + 1), text.slice(0, first), text.slice(first + 1, last), path);
    if ('code' in made) return made;
    entries.push(made);
  }
  return canonical(entries);
}

/** The JSON form: `[{perms: "cdrwa" | bits, scheme, id}]`. */
export function parseAclJson(json: unknown, path?: string): Acl | ZkError {
  if (!Array.isArray(json)) return invalid('an ACL is an array of {perms, scheme, id}', path);
  if (json.length > ACL_ENTRIES_MAX) return invalid(`an ACL has at most ${ACL_ENTRIES_MAX} entries`, path);
  const entries: AclEntry[] = [];
  for (const item of json as unknown[]) {
    if (typeof item !== 'object' || item === null) return invalid('an ACL entry is {perms, scheme, id}', path);
    const { perms, scheme, id } = item as Record<string, unknown>;
    if (typeof scheme !== 'string' || typeof id !== 'string') return invalid('an ACL entry needs a string scheme and id', path);
    const made = typeof perms === 'number'
      ? (Number.isInteger(perms) && perms >= 0 && perms <= PERM.ALL ? makeEntry(formatPerms(perms), scheme, id, path) : invalid(`perms ${perms} is not a mask of cdrwa`, path))
      : typeof perms === 'string' ? makeEntry(perms, scheme, id, path) : invalid('an ACL entry needs perms', path);
    if ('code' in made) return made;
    entries.push(made);
  }
  return canonical(entries);
}

/** The shared OPEN_ACL for an ACL equal to it: the common case then costs no check and no lookup. */
function canonical(acl: AclEntry[]): Acl {
  const only = acl.length === 1 ? acl[0]! : undefined;
  return only?.perms === PERM.ALL && only.scheme === 'world' && only.id === 'anyone' ? OPEN_ACL : acl;
}

function makeEntry(permText: string, scheme: string, id: string, path?: string): AclEntry | ZkError {
  const perms = parsePerms(permText);
  if (perms === undefined) return invalid(`ACL perms '${permText}' are not letters of cdrwa`, path);
  if (!SCHEME_PATTERN.test(scheme)) return invalid(`ACL scheme '${scheme}' is not a scheme name`, path);
  if (id.length > ID_CHARS_MAX) return invalid(`an ACL id is at most ${ID_CHARS_MAX} characters`, path);
  return entry(perms, scheme, id);
}

export function aclToJson(acl: Acl): Array<{ perms: string; scheme: string; id: string }> {
  return acl.map((e) => ({ perms: formatPerms(e.perms), scheme: e.scheme, id: e.id }));
}

/**
 * One frozen array per distinct ACL, so a million nodes under one ACL hold one list (ZooKeeper's
 * ACLCache does the same with reference counts). Entries are never dropped: the number of distinct
 * ACLs a tree has ever seen is small next to its nodes.
 */
export class AclCache {
  private readonly lists = new Map<string, Acl>([[keyOf(OPEN_ACL), OPEN_ACL], [keyOf(READ_ACL), READ_ACL]]);
  /** The lists handed out or adopted: found by identity, with no key to compute. */
  private readonly known = new Set<Acl>([OPEN_ACL, READ_ACL]);

  intern(acl: Acl): Acl {
    if (this.known.has(acl)) return acl;
    const key = keyOf(acl);
    let shared = this.lists.get(key);
    if (shared === undefined) {
      shared = Object.freeze(acl.map((e) => entry(e.perms, e.scheme, e.id)));
      this.lists.set(key, shared);
      this.known.add(shared);
    }
    return shared;
  }

  /** Takes a loaded node's list as is (a loader shares one object per distinct ACL already). */
  adopt(acl: Acl): void {
    if (this.known.has(acl)) return;
    const key = keyOf(acl);
    if (!this.lists.has(key)) this.lists.set(key, acl);
    this.known.add(acl);
  }
}

const keyOf = (acl: Acl): string => JSON.stringify(acl.map((e) => [e.perms, e.scheme, e.id]));

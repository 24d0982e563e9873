// The ACL oracle's operation model and its seeded generator. A run is one root (/oracle-acl-<seed>,
// created open by the anonymous actor) over a small path universe, acted on by three actors:
// anonymous, bob (digest bob:secret) and alice (digest alice:secret). Each op carries its actor:
// on ZooKeeper its own connection (addauth digest), on Corral HTTP Basic for that user.
// A sequence is drawn op by op from its seed (mulberry32 via Rng) and ZooKeeper's answers so far
// (AclSequence); the server being deterministic, it is a function of the seed and a failure
// replays with ORACLE_SEED. ACLs are drawn so that permissions collide often: random perm subsets, the
// caller's own `auth`, the two digests, three ip ranges (two match loopback, one never) and the
// invalid ACLs ZooKeeper refuses with INVALIDACL.
//
// The combined actor (one ZooKeeper connection with both bob and alice added) is not part of the
// random sequences: Corral takes one credential per HTTP request (see KNOWN_DIFFERENCES in
// acl-runner.ts, checked by its own test in acl.e2e.test.ts).
import { createHash } from 'node:crypto';
import { Rng } from './ops.ts';

export type Actor = 'anon' | 'bob' | 'alice';
export const ACTORS: readonly Actor[] = ['anon', 'bob', 'alice'];

/** user:password of each authenticated actor: ZooKeeper's addauth digest, Corral's Basic. */
export const CREDENTIALS: Readonly<Record<Exclude<Actor, 'anon'>, string>> = { bob: 'bob:secret', alice: 'alice:secret' };

/** ZooKeeper's DigestAuthenticationProvider.generateDigest: `user:BASE64(SHA1(user:password))`. */
export function digestId(userPassword: string): string {
  const user = userPassword.slice(0, userPassword.indexOf(':'));
  return `${user}:${createHash('sha1').update(userPassword, 'utf8').digest('base64')}`;
}

export const BOB_ID = digestId(CREDENTIALS.bob);
export const ALICE_ID = digestId(CREDENTIALS.alice);

/** ZooDefs.Perms bits. */
export const PERM = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

/** An ACL entry as ZooKeeper's jute ACL has it: perms as a bitmask. */
export interface AclEntry { perms: number; scheme: string; id: string }

export type VersionSpec = number | 'current';

export type AclSubOp<V = number> =
  | { op: 'create'; path: string; data: string; acl: AclEntry[] }
  | { op: 'setData'; path: string; data: string; version: V }
  | { op: 'delete'; path: string; version: V }
  | { op: 'check'; path: string; version: V };

export type AclReadKind = 'getData' | 'getChildren' | 'exists' | 'getACL';

/** One op by one actor. setACL's version is checked against the node's aversion. */
export type AclOp<V = number> =
  | ({ actor: Actor } & Exclude<AclSubOp<V>, { op: 'check' }>)
  | { actor: Actor; op: AclReadKind; path: string }
  | { actor: Actor; op: 'setACL'; path: string; acl: AclEntry[]; version: V }
  | { actor: Actor; op: 'multi'; ops: AclSubOp<V>[] };

// Relative to the run root: few names, so creates, NODEEXISTS, NOTEMPTY and permission
// inheritance questions (parent vs child ACL) come up constantly.
const UNIVERSE = ['', '/a', '/a/b', '/a/b/c', '/b', '/b/d', '/c'] as const;
const CHILDREN = UNIVERSE.filter((p) => p !== '');

const parentOf = (path: string): string => path.slice(0, path.lastIndexOf('/'));

// The ACL entries an op may carry. Valid for ZooKeeper's fixupACL: world:anyone, auth (expands to
// the caller's digest; INVALIDACL for anonymous), the two digests, dotted IPv4 with optional
// /bits. Invalid: world with another id, a digest without its hash, a prefix over 32 bits.
const VALID_IDS = [
  { scheme: 'world', id: 'anyone', weight: 22 },
  { scheme: 'auth', id: '', weight: 14 },
  { scheme: 'digest', id: BOB_ID, weight: 16 },
  { scheme: 'digest', id: ALICE_ID, weight: 16 },
  { scheme: 'ip', id: '127.0.0.1', weight: 6 },
  { scheme: 'ip', id: '127.0.0.0/8', weight: 6 },
  { scheme: 'ip', id: '10.0.0.0/8', weight: 6 },
] as const;
const INVALID_IDS = [
  { scheme: 'world', id: 'someone' },
  { scheme: 'digest', id: 'bob' },
  { scheme: 'ip', id: '1.2.3.4/40' },
] as const;

/** The actor's identities as an ACL check sees them (all actors connect from 127.0.0.1). */
function actorIds(actor: Actor): string[] {
  const ids = ['ip:127.0.0.1'];
  if (actor === 'bob') ids.push(`digest:${BOB_ID}`);
  if (actor === 'alice') ids.push(`digest:${ALICE_ID}`);
  return ids;
}

/**
 * A rough model of which nodes exist and with which ACL, learned from ZooKeeper's answers, only to
 * aim ops: it picks live paths and, more often than chance, an actor the ACL lets through, so
 * trees grow deep and successes stay common next to the NOAUTHs. Being wrong only costs coverage.
 */
class Belief {
  readonly nodes = new Map<string, AclEntry[]>();

  permits(path: string, perm: number, actor: Actor): boolean {
    const acl = this.nodes.get(path);
    if (acl === undefined) return true; // unknown: no reason to prefer anyone
    const ids = actorIds(actor);
    return acl.some((e) => (e.perms & perm) !== 0 && (
      (e.scheme === 'world' && e.id === 'anyone')
      || (e.scheme === 'digest' && ids.includes(`digest:${e.id}`))
      || (e.scheme === 'ip' && (e.id === '127.0.0.1' || e.id === '127.0.0.0/8'))));
  }

  /** Applies what an op did, given that it succeeded on ZooKeeper. */
  apply(op: AclOp, results?: SubResultLike[]): void {
    const expand = (acl: AclEntry[]): AclEntry[] => acl.flatMap((e) => (e.scheme !== 'auth' ? [e]
      : op.actor === 'anon' ? [] : [{ perms: e.perms, scheme: 'digest', id: op.actor === 'bob' ? BOB_ID : ALICE_ID }]));
    const subs: AclSubOp[] = op.op === 'multi' ? op.ops : op.op === 'create' || op.op === 'delete' ? [op] : [];
    subs.forEach((sub, i) => {
      if (sub.op === 'create') this.nodes.set(createdPath(results?.[i]) ?? sub.path, expand(sub.acl));
      if (sub.op === 'delete') this.nodes.delete(sub.path);
    });
    if (op.op === 'setACL') this.nodes.set(op.path, expand(op.acl));
  }
}

type SubResultLike = object;
const createdPath = (r: SubResultLike | undefined): string | undefined =>
  r !== undefined && 'path' in r && typeof r.path === 'string' ? r.path : undefined;

/**
 * One run's op sequence, generated op by op: `next()` draws from the seed, `observe()` feeds back
 * ZooKeeper's answer. The servers are deterministic, so the sequence is still a function of the
 * seed alone and replays exactly with ORACLE_SEED.
 */
export class AclSequence {
  private readonly rng: Rng;
  private readonly belief = new Belief();
  readonly root: string;
  private started = false;

  constructor(seed: number) {
    this.rng = new Rng(seed);
    this.root = aclRunRoot(seed);
  }

  /** The next op: the run's root (open ACL, by anonymous) first, then random ops. */
  next(): AclOp<VersionSpec> {
    if (!this.started) {
      this.started = true;
      return { actor: 'anon', op: 'create', path: this.root, data: '', acl: [{ perms: PERM.ALL, scheme: 'world', id: 'anyone' }] };
    }
    return this.op();
  }

  /** What ZooKeeper answered to `op` (versions resolved). */
  observe(op: AclOp, outcome: { ok: boolean; results?: SubResultLike[] | undefined }): void {
    if (outcome.ok) this.belief.apply(op, outcome.results);
  }

  private actor(path: string, perm: number): Actor {
    const rng = this.rng;
    const allowed = ACTORS.filter((a) => this.belief.permits(path, perm, a));
    if (allowed.length > 0 && allowed.length < ACTORS.length && rng.chance(0.6)) return rng.pick(allowed);
    return rng.pick(ACTORS);
  }

  private perms(): number {
    const rng = this.rng;
    return rng.weighted<() => number>([[30, () => PERM.ALL], [8, () => 0], [62, () => 1 + rng.int(31)]])();
  }

  /** 1–3 entries, sometimes invalid (one bad entry, or the empty list). */
  private acl(): AclEntry[] {
    const rng = this.rng;
    if (rng.chance(0.03)) return [];
    const n = rng.weighted([[45, 1], [35, 2], [20, 3]] as const);
    const acl: AclEntry[] = [];
    for (let i = 0; i < n; i++) {
      const who = rng.weighted(VALID_IDS.map((v) => [v.weight, v] as const));
      acl.push({ perms: this.perms(), scheme: who.scheme, id: who.id });
    }
    if (rng.chance(0.08)) acl[rng.int(acl.length)] = { perms: this.perms(), ...rng.pick(INVALID_IDS) };
    return acl;
  }

  /** A path of the universe, most often one that exists. */
  private path(): string {
    const rng = this.rng;
    const live = [...this.belief.nodes.keys()].sort();
    return rng.chance(0.7) && live.length > 0 ? rng.pick(live) : this.root + rng.pick(UNIVERSE);
  }

  /** A universe path that is probably free and whose parent probably exists. */
  private freshPath(): string {
    const fresh = CHILDREN.map((p) => this.root + p).filter((p) => !this.belief.nodes.has(p) && this.belief.nodes.has(parentOf(p)));
    return fresh.length > 0 && this.rng.chance(0.8) ? this.rng.pick(fresh) : this.root + this.rng.pick(CHILDREN);
  }

  private data(): string {
    return Buffer.from(this.rng.chance(0.2) ? '' : `v${this.rng.int(1000)}`, 'utf8').toString('base64');
  }

  private version(): VersionSpec {
    const rng = this.rng;
    return rng.weighted<() => VersionSpec>([[40, () => -1], [35, () => 'current'], [25, () => rng.int(3)]])();
  }

  private create(): Extract<AclSubOp<VersionSpec>, { op: 'create' }> {
    return { op: 'create', path: this.freshPath(), data: this.data(), acl: this.acl() };
  }

  private sub(): AclSubOp<VersionSpec> {
    return this.rng.weighted<() => AclSubOp<VersionSpec>>([
      [40, () => this.create()],
      [20, () => ({ op: 'setData', path: this.path(), data: this.data(), version: this.version() })],
      [20, () => ({ op: 'check', path: this.path(), version: this.version() })],
      [20, () => ({ op: 'delete', path: this.path(), version: this.version() })],
    ])();
  }

  /** A multi: random sub-ops, or a create then a use of the created node (its ACL applies at once). */
  private multi(): AclSubOp<VersionSpec>[] {
    const rng = this.rng;
    if (rng.chance(0.35)) {
      const x = this.freshPath();
      const use = rng.weighted<() => AclSubOp<VersionSpec>>([
        [35, () => ({ op: 'create', path: `${x}/k`, data: this.data(), acl: this.acl() })],
        [25, () => ({ op: 'setData', path: x, data: this.data(), version: 0 })],
        [20, () => ({ op: 'check', path: x, version: 0 })],
        [20, () => ({ op: 'delete', path: x, version: -1 })],
      ])();
      const ops: AclSubOp<VersionSpec>[] = [{ op: 'create', path: x, data: this.data(), acl: this.acl() }, use];
      if (rng.chance(0.3)) ops.splice(rng.int(3), 0, this.sub());
      return ops;
    }
    return Array.from({ length: 1 + rng.int(3) }, () => this.sub());
  }

  private op(): AclOp<VersionSpec> {
    const rng = this.rng;
    const read = (op: AclReadKind, perm: number): AclOp<VersionSpec> => {
      const path = this.path();
      return { actor: this.actor(path, perm), op, path };
    };
    return rng.weighted<() => AclOp<VersionSpec>>([
      [22, () => { const c = this.create(); return { actor: this.actor(parentOf(c.path), PERM.CREATE), ...c }; }],
      [8, () => read('getData', PERM.READ)],
      [6, () => read('getChildren', PERM.READ)],
      [7, () => read('exists', PERM.READ)],
      [10, () => read('getACL', PERM.READ | PERM.ADMIN)],
      [10, () => {
        const path = this.path();
        return { actor: this.actor(path, PERM.WRITE), op: 'setData', path, data: this.data(), version: this.version() };
      }],
      [10, () => {
        const path = this.path();
        return { actor: this.actor(parentOf(path), PERM.DELETE), op: 'delete', path, version: this.version() };
      }],
      [13, () => {
        // The run's root rarely, and then never closed to creates and deletes, so a run cannot lock itself out.
        let path = this.path();
        if (path === this.root && rng.chance(0.8)) path = this.root + rng.pick(CHILDREN);
        const acl = path === this.root ? [...this.acl(), { perms: PERM.CREATE | PERM.DELETE | PERM.ADMIN, scheme: 'world', id: 'anyone' }] : this.acl();
        return { actor: this.actor(path, PERM.ADMIN), op: 'setACL', path, acl, version: this.version() };
      }],
      [14, () => {
        const ops = this.multi();
        const first = ops[0]!;
        return { actor: this.actor(first.op === 'create' ? parentOf(first.path) : first.path, first.op === 'create' ? PERM.CREATE : PERM.WRITE), op: 'multi', ops };
      }],
    ])();
  }
}

export function aclRunRoot(seed: number): string {
  return `/oracle-acl-${seed}`;
}

/**
 * Replaces every 'current' version with the node's version (aversion for setACL) as
 * `statOf(path)` reports it (a missing node counts as 0). Both sides get the same number.
 */
export async function resolveAclVersions(
  op: AclOp<VersionSpec>, statOf: (path: string) => Promise<{ version: number; aversion: number } | null>,
): Promise<AclOp> {
  const resolve = async (path: string, v: VersionSpec, key: 'version' | 'aversion'): Promise<number> =>
    v === 'current' ? (await statOf(path))?.[key] ?? 0 : v;
  if (op.op === 'multi') {
    const ops: AclSubOp[] = [];
    for (const sub of op.ops) {
      ops.push(sub.op === 'create' ? sub : { ...sub, version: await resolve(sub.path, sub.version, 'version') });
    }
    return { ...op, ops };
  }
  if (op.op === 'setACL') return { ...op, version: await resolve(op.path, op.version, 'aversion') };
  if (op.op === 'setData' || op.op === 'delete') return { ...op, version: await resolve(op.path, op.version, 'version') };
  return op;
}

/** One line per op, with digests shortened (`digest:bob:Hx…`) and perms as cdrwa letters. */
export function describeAclOp(op: AclOp<VersionSpec>): string {
  const acl = (a: AclEntry[]): string => `[${a.map(showEntry).join(',')}]`;
  const data = (d: string): string => JSON.stringify(Buffer.from(d, 'base64').toString('utf8'));
  const sub = (s: AclSubOp<VersionSpec>): string => {
    switch (s.op) {
      case 'create': return `create ${s.path} ${data(s.data)} ${acl(s.acl)}`;
      case 'setData': return `setData ${s.path} ${data(s.data)} v=${s.version}`;
      case 'delete': return `delete ${s.path} v=${s.version}`;
      case 'check': return `check ${s.path} v=${s.version}`;
    }
  };
  const body = op.op === 'multi' ? `multi [${op.ops.map(sub).join('; ')}]`
    : op.op === 'setACL' ? `setACL ${op.path} ${acl(op.acl)} aversion=${op.version}`
    : op.op === 'create' || op.op === 'setData' || op.op === 'delete' ? sub(op)
    : `${op.op} ${op.path}`;
  return `${op.actor}: ${body}`;
}

export function showEntry(e: AclEntry): string {
  const id = e.scheme === 'digest' ? e.id.replace(/^([^:]*:..).+$/s, '$1…') : e.id;
  return `${e.scheme}:${id}:${permLetters(e.perms)}`;
}

const LETTERS: ReadonlyArray<readonly [string, number]> = [
  ['c', PERM.CREATE], ['d', PERM.DELETE], ['r', PERM.READ], ['w', PERM.WRITE], ['a', PERM.ADMIN],
];

export function permLetters(perms: number): string {
  const letters = LETTERS.filter(([, bit]) => perms & bit).map(([l]) => l).join('');
  return letters === '' ? '-' : letters;
}

/** Corral's `cdrwa` letters as ZooKeeper's bitmask; undefined for anything else. */
export function permsOfLetters(text: string): number | undefined {
  let perms = 0;
  for (const ch of text) {
    const bit = LETTERS.find(([l]) => l === ch)?.[1];
    if (bit === undefined || (perms & bit) !== 0) return undefined;
    perms |= bit;
  }
  return perms;
}

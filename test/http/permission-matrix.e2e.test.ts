// The permission matrix: every ZooKeeper operation × every permission bit present or absent ×
// every ACL scheme, over a real socket to an in-process node (x509: a second one, serving TLS).
//
// A cell is (operation, ACL, caller). Its ACL grants a set of bits to one identity: each of
// c, d, r, w, a alone, and all five but that one. The caller is the identity the ACL names (it is
// allowed exactly when the operation's bit is in the set), an identity it does not name (always
// denied), or the superuser (always allowed). Allowed means the operation's normal answer (2xx);
// denied means 403 with code NOAUTH (for a read multi: 200 with NOAUTH as its op's result, as
// ZooKeeper's multiRead answers), and no change to the tree.
//
// Each cell has its own znode, /pm/<scheme>/<op>.<perms>.<caller>, carrying the cell's ACL under
// an open parent, so no cell sees another's effects and the cells may run in any order:
// - create and delete act on that node as the parent (create makes <node>/new, delete removes
//   <node>/t, an open child made for it): they need CREATE or DELETE on the parent;
// - the other operations act on the node itself.
// The nodes are made up front by a few multis, as the superuser, except the `auth` scheme's: bob
// creates those with `auth::<perms>` (expanded to his digest identity), then acts on them as bob.
// Cells of operations a plain request can make are shared between the node's two roads: the
// direct path (fast-path.ts, wire/) and the Hono app (a Zk-Min-Zxid header sends it there); their
// names end in [Hono app] for the latter. Sessions and multis always go through the app.
//
// x509 runs over HTTPS, against a second node serving TLS with optional client certificates
// (test/tls/tls-fixture.ts): alice's certificate proves x509:CN=alice,O=Example, bob's
// x509:CN=bob,O=Example (a certificate the ACL does not name), no certificate proves nothing, and
// the superuser sends its Basic header. Its cells are the same operations, bit sets and roads.
import { afterAll, beforeAll, describe, expect, it, vi, type ExpectStatic } from 'vitest';
import { formatPerms, PERM } from '../../src/core/acl/acl.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTempDir, removeDir } from '../support/corral-process.ts';
import { h1Request, type ClientTls } from '../tls/tls-client.ts';
import { makeTestPki, startTlsNode, tlsConfigOf, type TestPki, type TlsNode } from '../tls/tls-fixture.ts';
import {
  BOB_DIGEST, call, makeActors, SUPER_DIGEST, type ActorName, type Actors, type Answer,
} from './acl-actors.ts';

// The HTTP cells run concurrently (each has its own node); more at once than vitest's default 5
// keeps the file fast on a busy machine.
vi.setConfig({ maxConcurrency: 16 });

// ---------------------------------------------------------------------------------------------
// The axes.

type OpKey =
  | 'create' | 'delete' | 'setData' | 'getData' | 'getChildren' | 'exists' | 'getACL' | 'setACL'
  | 'multiCheck' | 'multiSetData' | 'multiGetData' | 'watchedGetData';

interface OpSpec {
  readonly key: OpKey;
  /** The start of each cell's name: what the operation needs. */
  readonly rule: string;
  /** The bits of which the caller needs at least one. */
  readonly needs: number;
  /** Whether a caller it allows changes the tree (checked after the call, as the superuser). */
  readonly writes: boolean;
  /**
   * Whether a plain request for it may take the direct path (fast-path.ts, wire/) rather than the
   * Hono app: each road authenticates on its own, so these cells are shared out between the two.
   */
  readonly direct: boolean;
}

const { READ, WRITE, CREATE, DELETE, ADMIN, ALL } = PERM;

const OPS: readonly OpSpec[] = [
  { key: 'create', rule: 'create needs CREATE on the parent', needs: CREATE, writes: true, direct: true },
  { key: 'delete', rule: 'delete needs DELETE on the parent', needs: DELETE, writes: true, direct: true },
  { key: 'setData', rule: 'setData needs WRITE', needs: WRITE, writes: true, direct: true },
  { key: 'getData', rule: 'getData needs READ', needs: READ, writes: false, direct: true },
  { key: 'getChildren', rule: 'getChildren needs READ', needs: READ, writes: false, direct: true },
  { key: 'exists', rule: 'exists (GET /v1/stat) needs READ', needs: READ, writes: false, direct: true },
  { key: 'getACL', rule: 'getACL needs READ or ADMIN', needs: READ | ADMIN, writes: false, direct: true },
  { key: 'setACL', rule: 'setACL needs ADMIN', needs: ADMIN, writes: true, direct: true },
  { key: 'multiCheck', rule: 'a multi check needs READ', needs: READ, writes: false, direct: false },
  { key: 'multiSetData', rule: 'a multi setData needs WRITE', needs: WRITE, writes: true, direct: false },
  // Not in the issue's list, but its own road (readNow): a read multi answers 200 with NOAUTH per op, as multiRead does.
  { key: 'multiGetData', rule: 'a read multi getData needs READ', needs: READ, writes: false, direct: false },
  { key: 'watchedGetData', rule: 'getData?watch=true needs READ', needs: READ, writes: false, direct: false },
];

interface BitSet {
  readonly label: string;
  readonly perms: number;
}

/** Each bit alone (present), and every bit but it (absent): ten sets, each with distinct letters. */
const BIT_SETS: readonly BitSet[] = ['c', 'd', 'r', 'w', 'a'].flatMap((letter) => {
  const bit = { c: CREATE, d: DELETE, r: READ, w: WRITE, a: ADMIN }[letter]!;
  return [
    { label: `only ${letter}`, perms: bit },
    { label: `all but ${letter} (${formatPerms(ALL & ~bit)})`, perms: ALL & ~bit },
  ];
});

interface AclJson {
  readonly perms: string;
  readonly scheme: string;
  readonly id: string;
}

/** One way an ACL can name (or fail to name) a caller. */
interface Grant {
  /** Unique within its scheme: the last part of the cell's node name. */
  readonly key: string;
  /** The ACL as the cell's name gives it. */
  readonly aclLabel: string;
  /** The ACL's one entry, as stored. */
  readonly entry: { readonly scheme: string; readonly id: string };
  /** What the creator sends in the create: the stored entry, or `auth::` for the auth scheme. */
  readonly sentAs?: (perms: string) => string;
  /** Who creates the node. */
  readonly creator: CallerName;
  readonly caller: CallerName;
  /** ', as …' in the cell's name, when the caller is not simply the identity the ACL names. */
  readonly callerLabel?: string;
  /** Whether the ACL names the caller: if not, every cell is denied. */
  readonly matches: boolean;
}

/** The callers: the HTTP actors, and the two client certificates the TLS node verifies. */
type CallerName = ActorName | 'x509-alice' | 'x509-bob';

interface Scheme {
  readonly key: string;
  readonly grants: readonly Grant[];
}

const bob = { scheme: 'digest', id: BOB_DIGEST };
const asAnonymous = { caller: 'anonymous' as const, callerLabel: 'as anonymous', matches: false };
const asSuper = { callerLabel: 'as the superuser', caller: 'super' as const, matches: true };

const SCHEMES_OVER_HTTP: readonly Scheme[] = [
  { key: 'world', grants: [
    // Everyone is anyone: there is no caller world:anyone does not name.
    { key: 'match', aclLabel: 'world:anyone', entry: { scheme: 'world', id: 'anyone' }, creator: 'super', caller: 'anonymous', matches: true },
  ] },
  { key: 'digest', grants: [
    { key: 'match', aclLabel: 'digest (bob)', entry: bob, creator: 'super', caller: 'bob', matches: true },
    { key: 'anonymous', aclLabel: 'digest (bob)', entry: bob, creator: 'super', ...asAnonymous },
    { key: 'alice', aclLabel: 'digest (bob)', entry: bob, creator: 'super', caller: 'alice', callerLabel: 'as jwt:alice', matches: false },
  ] },
  { key: 'ip-host', grants: [
    // Every caller here is 127.0.0.1; the non-matching case is an ACL naming another address.
    { key: 'match', aclLabel: 'ip:127.0.0.1', entry: { scheme: 'ip', id: '127.0.0.1' }, creator: 'super', caller: 'anonymous', callerLabel: 'from 127.0.0.1', matches: true },
    { key: 'other', aclLabel: 'ip:10.0.0.1', entry: { scheme: 'ip', id: '10.0.0.1' }, creator: 'super', caller: 'anonymous', callerLabel: 'from 127.0.0.1', matches: false },
  ] },
  { key: 'ip-cidr', grants: [
    { key: 'match', aclLabel: 'ip:127.0.0.0/8', entry: { scheme: 'ip', id: '127.0.0.0/8' }, creator: 'super', caller: 'anonymous', callerLabel: 'from 127.0.0.1', matches: true },
    { key: 'other', aclLabel: 'ip:10.0.0.0/8', entry: { scheme: 'ip', id: '10.0.0.0/8' }, creator: 'super', caller: 'anonymous', callerLabel: 'from 127.0.0.1', matches: false },
  ] },
  { key: 'jwt', grants: [
    { key: 'match', aclLabel: 'jwt:alice', entry: { scheme: 'jwt', id: 'alice' }, creator: 'super', caller: 'alice', matches: true },
    { key: 'anonymous', aclLabel: 'jwt:alice', entry: { scheme: 'jwt', id: 'alice' }, creator: 'super', ...asAnonymous },
    { key: 'carol', aclLabel: 'jwt:alice', entry: { scheme: 'jwt', id: 'alice' }, creator: 'super', caller: 'carol', callerLabel: 'as jwt:carol', matches: false },
  ] },
  { key: 'jwt-group', grants: [
    { key: 'match', aclLabel: 'jwt-group:ops', entry: { scheme: 'jwt-group', id: 'ops' }, creator: 'super', caller: 'carol', callerLabel: 'as carol (group ops)', matches: true },
    { key: 'anonymous', aclLabel: 'jwt-group:ops', entry: { scheme: 'jwt-group', id: 'ops' }, creator: 'super', ...asAnonymous },
    { key: 'alice', aclLabel: 'jwt-group:ops', entry: { scheme: 'jwt-group', id: 'ops' }, creator: 'super', caller: 'alice', callerLabel: 'as alice (group dev)', matches: false },
  ] },
  { key: 'auth', grants: [
    // Created by bob with `auth::<perms>`, which the node expands to bob's digest identity.
    { key: 'match', aclLabel: 'auth (created by bob)', entry: bob, sentAs: (p) => `auth::${p}`, creator: 'bob', caller: 'bob', callerLabel: 'as bob', matches: true },
    { key: 'anonymous', aclLabel: 'auth (created by bob)', entry: bob, sentAs: (p) => `auth::${p}`, creator: 'bob', ...asAnonymous },
  ] },
];

const DN = 'CN=alice,O=Example';
const aliceCert = { scheme: 'x509', id: DN };

/** x509, over HTTPS to the TLS node: the identity is the client certificate's subject. */
const SCHEMES_OVER_HTTPS: readonly Scheme[] = [
  { key: 'x509', grants: [
    { key: 'match', aclLabel: `x509:${DN}`, entry: aliceCert, creator: 'super', caller: 'x509-alice', callerLabel: 'with alice\'s certificate', matches: true },
    { key: 'bob', aclLabel: `x509:${DN}`, entry: aliceCert, creator: 'super', caller: 'x509-bob', callerLabel: 'with bob\'s certificate (x509:CN=bob,O=Example)', matches: false },
    { key: 'anonymous', aclLabel: `x509:${DN}`, entry: aliceCert, creator: 'super', caller: 'anonymous', callerLabel: 'without a certificate', matches: false },
  ] },
];

/** Every scheme with the superuser's cell added: the ACL names the scheme's identity, super passes anyway. */
const withSuper = (schemes: readonly Scheme[]): readonly Scheme[] =>
  schemes.map((scheme) => ({ ...scheme, grants: [...scheme.grants, { ...scheme.grants[0]!, key: 'super', ...asSuper }] }));
const SCHEMES = withSuper(SCHEMES_OVER_HTTP);
const X509_SCHEMES = withSuper(SCHEMES_OVER_HTTPS);

// ---------------------------------------------------------------------------------------------
// The cells.

interface Cell {
  readonly name: string;
  readonly op: OpSpec;
  readonly grant: Grant;
  readonly perms: number;
  /** The cell's own node. */
  readonly path: string;
  readonly allowed: boolean;
  /** For an op with a direct path: whether this cell is sent so that the Hono app answers it instead. */
  readonly viaApp: boolean;
}

const ROOT = '/pm';

/** A header that sends a plain request to the Hono app (the direct path leaves Zk-Min-Zxid to it); 0 waits for nothing. */
const TO_APP = { 'zk-min-zxid': '0' };

function nameOf(op: OpSpec, aclLabel: string, bits: BitSet, callerLabel: string | undefined, allowed: boolean): string {
  return `${op.rule}: ${aclLabel} with ${bits.label}${callerLabel ? `, ${callerLabel}` : ''} → ${allowed ? 'allowed' : 'denied'}`;
}

// Direct-path ops take the two roads in a checkerboard over (bit set, caller): every caller and every
// bit set of every scheme meets both.
const cellsOf = (schemes: readonly Scheme[]): readonly Cell[] => OPS.flatMap((op) => schemes.flatMap((scheme) => BIT_SETS.flatMap((bits, b) => scheme.grants.map((grant, g): Cell => {
  const allowed = grant.caller === 'super' || (grant.matches && (bits.perms & op.needs) !== 0);
  const viaApp = op.direct && (b + g) % 2 === 1;
  return {
    name: nameOf(op, grant.aclLabel, bits, grant.callerLabel, allowed) + (viaApp ? ' [Hono app]' : ''),
    op, grant, perms: bits.perms, allowed, viaApp,
    path: `${ROOT}/${scheme.key}/${op.key}.${formatPerms(bits.perms)}.${grant.key}`,
  };
}))));
const CELLS = cellsOf(SCHEMES);
const X509_CELLS = cellsOf(X509_SCHEMES);

/** The cell's ACL as stored, and as getACL shows it to its caller (digest ids hidden without ADMIN). */
function storedAcl(cell: Cell): AclJson[] {
  return [{ perms: formatPerms(cell.perms), ...cell.grant.entry }];
}

function visibleTo(cell: Cell): AclJson[] {
  const admin = cell.grant.caller === 'super' || (cell.grant.matches && (cell.perms & ADMIN) !== 0);
  return storedAcl(cell).map((e) => (admin || e.scheme !== 'digest' ? e : { ...e, id: e.id.replace(/:.*/s, ':x') }));
}

const compact = (acl: readonly AclJson[]): string => acl.map((e) => `${e.scheme}:${e.id}:${e.perms}`).join(',');

/** The cell's ACL as a request sends it: text, or JSON where an id holds a comma (an x509 subject). */
const sentAcl = (cell: Cell): string | readonly AclJson[] =>
  cell.grant.sentAs?.(formatPerms(cell.perms)) ?? (cell.grant.entry.id.includes(',') ? storedAcl(cell) : compact(storedAcl(cell)));

// ---------------------------------------------------------------------------------------------
// The nodes: a plain HTTP one and a TLS one (x509), each set up once for the whole file.

/**
 * How cells reach a node: a request as one caller, proving its identity (its Authorization
 * header, or over TLS its client certificate), with `headers` added.
 */
interface Road {
  send(caller: CallerName, method: string, path: string, body?: string | object, headers?: Record<string, string>): Promise<Answer>;
  /** Per caller: the headers of a session it opened (a session acts only for its opener's identities). */
  readonly sessions: Map<CallerName, Record<string, string>>;
}

let actors: Actors;
const MULTI_OPS_MAX = 1000;

/** Creates `ops` in as few multis as the node takes, as `creator`; any failure fails the setup. */
async function createAll(road: Road, creator: CallerName, ops: ReadonlyArray<{ path: string; acl?: string | readonly AclJson[] }>): Promise<void> {
  for (let i = 0; i < ops.length; i += MULTI_OPS_MAX) {
    const batch = ops.slice(i, i + MULTI_OPS_MAX).map((o) => ({ op: 'create', path: o.path, ...(o.acl ? { acl: o.acl } : {}) }));
    const answer = await road.send(creator, 'POST', '/v1/multi', { ops: batch });
    if (answer.status !== 200) throw new Error(`setup as ${creator} failed: ${answer.status} ${JSON.stringify(answer.body).slice(0, 500)}`);
  }
}

/** Every cell's node (with its ACL), delete's victims, and a session per caller. */
async function setUpCells(road: Road, cells: readonly Cell[], schemes: readonly Scheme[]): Promise<void> {
  await createAll(road, 'super', [{ path: ROOT }, ...schemes.map((s) => ({ path: `${ROOT}/${s.key}` }))]);
  for (const creator of new Set(cells.map((c) => c.grant.creator))) {
    await createAll(road, creator, cells.filter((c) => c.grant.creator === creator).map((c) => ({ path: c.path, acl: sentAcl(c) })));
  }
  // delete's victims: open children, made by the superuser (it passes CREATE on every cell's node).
  await createAll(road, 'super', cells.filter((c) => c.op.key === 'delete').map((c) => ({ path: `${c.path}/t` })));
  for (const name of new Set(cells.map((c) => c.grant.caller))) {
    const opened = await road.send(name, 'POST', '/v1/sessions', { timeoutMs: 40_000 });
    if (opened.status !== 201) throw new Error(`opening a session as ${name} failed: ${opened.status} ${JSON.stringify(opened.body)}`);
    road.sessions.set(name, { 'zk-session-id': String(opened.body.id), 'zk-session-token': String(opened.body.token) });
  }
}

let server: RunningServer | undefined;
let dataDir: string | undefined;
const http: Road = {
  send: (caller, method, path, body, headers = {}) =>
    call(method, `${server!.url}${path}`, { ...actors.headers[caller as ActorName], ...headers }, body),
  sessions: new Map(),
};

let pki: TestPki | undefined;
let tlsNode: TlsNode | undefined;
const tlsOf = (caller: CallerName): ClientTls =>
  caller === 'x509-alice' ? pki!.alice : caller === 'x509-bob' ? pki!.bob : pki!.anonymous;
const https: Road = {
  async send(caller, method, path, body, headers = {}) {
    if (caller !== 'x509-alice' && caller !== 'x509-bob' && caller !== 'anonymous' && caller !== 'super') throw new Error(`${caller} has no road over TLS`);
    const auth = caller === 'super' ? actors.headers.super : {};
    const reply = await h1Request(tlsNode!.url, tlsOf(caller), method, path, { headers: { ...auth, ...headers }, body });
    return { status: reply.status, body: reply.body };
  },
  sessions: new Map(),
};

beforeAll(async () => {
  dataDir = makeTempDir('corral-permission-matrix-');
  actors = await makeActors(dataDir);
  // Every actor calls from 127.0.0.1, many cells at once: no per-address connection limit here.
  server = await startServer({ dataDir, port: 0, host: '127.0.0.1', maxConnectionsPerAddress: 0, ...actors.serverOptions });
  await setUpCells(http, CELLS, SCHEMES);
  pki = makeTestPki();
  // ZooKeeper's default tickTime (the fixture's is short), so the sessions' 40 s outlast the HTTP cells that run first.
  tlsNode = await startTlsNode({ ...tlsConfigOf(pki.pki, 'optional'), tickTimeMs: 2000, superDigest: SUPER_DIGEST, maxConnectionsPerAddress: 0 });
  await setUpCells(https, X509_CELLS, X509_SCHEMES);
});

afterAll(async () => {
  vi.resetConfig();
  await server?.close();
  server = undefined;
  removeDir(dataDir);
  await tlsNode?.close();
  tlsNode = undefined;
  if (pki) removeDir(pki.dir);
});

/** The cell's operation, as its caller. */
function perform(road: Road, cell: Cell): Promise<Answer> {
  const { path, grant } = cell;
  const send = (method: string, target: string, body?: string | object) => road.send(grant.caller, method, target, body, cell.viaApp ? TO_APP : {});
  switch (cell.op.key) {
    case 'create':
      return send('POST', `/v1/znodes${path}/new`);
    case 'delete':
      return send('DELETE', `/v1/znodes${path}/t`);
    case 'setData':
      return send('PUT', `/v1/znodes${path}`, 'x');
    case 'getData':
      return send('GET', `/v1/znodes${path}`);
    case 'getChildren':
      return send('GET', `/v1/children${path}`);
    case 'exists':
      return send('GET', `/v1/stat${path}`);
    case 'getACL':
      return send('GET', `/v1/acl${path}`);
    case 'setACL':
      // The ACL it has, written out (`auth::` from a caller without an identity would be INVALIDACL before any ACL check).
      return send('PUT', `/v1/acl${path}`, cell.grant.entry.id.includes(',') ? { acl: storedAcl(cell) } : compact(storedAcl(cell)));
    case 'multiCheck':
      return send('POST', '/v1/multi', { ops: [{ op: 'check', path }] });
    case 'multiSetData':
      return send('POST', '/v1/multi', { ops: [{ op: 'setData', path, data: 'x' }] });
    case 'multiGetData':
      return send('POST', '/v1/multi', { ops: [{ op: 'getData', path }] });
    case 'watchedGetData':
      return road.send(grant.caller, 'GET', `/v1/znodes${path}?watch=true`, undefined, road.sessions.get(grant.caller)!);
  }
}

/** The normal answer of an allowed call. */
function expectAllowed(cell: Cell, answer: Answer, expect: ExpectStatic): void {
  const { path } = cell;
  const status = cell.op.key === 'create' ? 201 : cell.op.key === 'delete' ? 204 : 200;
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  switch (cell.op.key) {
    case 'create':
      expect(answer.body.path).toBe(`${path}/new`);
      break;
    case 'getData':
    case 'watchedGetData':
      expect(answer.body).toMatchObject({ path, data: '', stat: { version: 0 } });
      break;
    case 'getChildren':
      expect(answer.body).toMatchObject({ path, children: [] });
      break;
    case 'exists':
      expect(answer.body).toMatchObject({ path, stat: { version: 0, aversion: 0 } });
      break;
    case 'getACL':
      expect(answer.body.acl).toEqual(visibleTo(cell));
      break;
    case 'setACL':
      expect(answer.body.stat.aversion).toBe(1);
      break;
    case 'multiCheck':
      expect(answer.body.results).toEqual([{ op: 'check' }]);
      break;
    case 'multiSetData':
      expect(answer.body.results).toMatchObject([{ op: 'setData', stat: { version: 1 } }]);
      break;
    case 'multiGetData':
      expect(answer.body.results).toMatchObject([{ op: 'getData', path, data: '', stat: { version: 0 } }]);
      break;
    default:
      break;
  }
}

/** A cell's answer: the normal one if allowed, else NOAUTH (per op, in a read multi). */
function expectAnswer(cell: Cell, answer: Answer, expect: ExpectStatic): void {
  if (cell.allowed) {
    expectAllowed(cell, answer, expect);
  } else if (cell.op.key === 'multiGetData') {
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.results).toMatchObject([{ op: 'getData', path: cell.path, code: 'NOAUTH' }]);
  } else {
    expect(answer.status, JSON.stringify(answer.body)).toBe(403);
    expect(answer.body.code).toBe('NOAUTH');
  }
}

/**
 * What each write cell's node looks like now, read as the superuser with a few read multis:
 * create and delete cells by their children, the others by their data and ACL versions.
 */
async function observedEffects(road: Road, cells: readonly Cell[]): Promise<Map<string, string>> {
  const writes = cells.filter((c) => c.op.writes);
  const ops = writes.map((c) => ({ op: c.op.key === 'create' || c.op.key === 'delete' ? 'getChildren' : 'getData', path: c.path }));
  const seen = new Map<string, string>();
  for (let i = 0; i < ops.length; i += MULTI_OPS_MAX) {
    const answer = await road.send('super', 'POST', '/v1/multi', { ops: ops.slice(i, i + MULTI_OPS_MAX) });
    if (answer.status !== 200) throw new Error(`reading the effects failed: ${answer.status} ${JSON.stringify(answer.body).slice(0, 500)}`);
    for (const r of answer.body.results as Array<{ path: string; children?: string[]; stat?: { version: number; aversion: number } }>) {
      seen.set(r.path, r.children ? `children [${r.children.join(',')}]` : `version ${r.stat?.version}, aversion ${r.stat?.aversion}`);
    }
  }
  return seen;
}

/** What an allowed write leaves behind, and what a denied one does (nothing). */
function expectedEffect(cell: Cell): string {
  const { allowed } = cell;
  switch (cell.op.key) {
    case 'create':
      return allowed ? 'children [new]' : 'children []';
    case 'delete':
      return allowed ? 'children []' : 'children [t]';
    case 'setACL':
      return `version 0, aversion ${allowed ? 1 : 0}`;
    default:
      return `version ${allowed ? 1 : 0}, aversion 0`;
  }
}

/** After the matrix: every allowed write done, no denied one, and each setACL cell's ACL as set up. */
function describeTreeAfter(road: () => Road, cells: readonly Cell[]): void {
  it('shows every allowed write and no denied one', async () => {
    const seen = await observedEffects(road(), cells);
    const writes = cells.filter((c) => c.op.writes);
    const got = Object.fromEntries(writes.map((c) => [c.name, seen.get(c.path)]));
    const want = Object.fromEntries(writes.map((c) => [c.name, expectedEffect(c)]));
    expect(got).toEqual(want);
  });

  it('still has the ACL each cell set up, setACL cells included', async () => {
    const setAcls = cells.filter((c) => c.op.key === 'setACL');
    const answers = await Promise.all(setAcls.map((c) => road().send('super', 'GET', `/v1/acl${c.path}`)));
    expect(Object.fromEntries(setAcls.map((c, i) => [c.name, answers[i]!.body.acl]))).toEqual(Object.fromEntries(setAcls.map((c) => [c.name, storedAcl(c)])));
  });
}

describe('the permission matrix over HTTP', () => {
  it('expands auth:: to the creator\'s digest identity only (not its address)', async () => {
    const cell = CELLS.find((c) => c.grant.creator === 'bob')!;
    const answer = await http.send('super', 'GET', `/v1/acl${cell.path}`);
    expect(answer.body.acl).toEqual([{ perms: formatPerms(cell.perms), scheme: 'digest', id: BOB_DIGEST }]);
  });

  // Concurrent: the cells share nothing (each has its own node), and the node answers many at once.
  for (const cell of CELLS) it.concurrent(cell.name, async ({ expect }) => {
    expectAnswer(cell, await perform(http, cell), expect);
  });
});

describe('the tree after the matrix', () => {
  describeTreeAfter(() => http, CELLS);
});

describe('the permission matrix for x509, over HTTPS with client certificates', () => {
  it('expands auth:: to the creator\'s x509 identity only (not its address)', async () => {
    expect((await https.send('x509-alice', 'POST', '/v1/znodes/x509-auth', undefined, { 'zk-acl': 'auth::r' })).status).toBe(201);
    const answer = await https.send('super', 'GET', '/v1/acl/x509-auth');
    expect(answer.body.acl).toEqual([{ perms: 'r', ...aliceCert }]);
  });

  for (const cell of X509_CELLS) it.concurrent(cell.name, async ({ expect }) => {
    expectAnswer(cell, await perform(https, cell), expect);
  });
});

describe('the x509 tree after the matrix', () => {
  describeTreeAfter(() => https, X509_CELLS);
});

describe('the matrix', () => {
  it('has every operation, bit set and scheme', () => {
    expect(new Set(CELLS.map((c) => c.op.key)).size).toBe(OPS.length);
    expect(new Set(CELLS.map((c) => c.perms)).size).toBe(10);
    expect(CELLS.length).toBe(OPS.length * BIT_SETS.length * SCHEMES.reduce((n, s) => n + s.grants.length, 0));
    expect(X509_CELLS.length).toBe(OPS.length * BIT_SETS.length * X509_SCHEMES.reduce((n, s) => n + s.grants.length, 0));
  });

  it('sends every direct-path operation down both roads, for every scheme', () => {
    for (const op of OPS.filter((o) => o.direct)) {
      for (const scheme of [...SCHEMES, ...X509_SCHEMES]) {
        const cells = scheme.key === 'x509' ? X509_CELLS : CELLS;
        const roads = new Set(cells.filter((c) => c.op === op && c.path.startsWith(`${ROOT}/${scheme.key}/`)).map((c) => c.viaApp));
        expect([...roads].sort(), `${op.key} on ${scheme.key}`).toEqual([false, true]);
      }
    }
  });
});

/**
 * The znode calls — getData, exists, stat, getChildren, create, setData, delete — written once
 * against a small request interface and answering a `Reply`, so the Hono routes
 * (routes/znodes.ts) and the direct paths for plain requests (fast-path.ts, wire/) run the same
 * code against the same backend, on a leader or a follower alike.
 */
import type { Caller, ReadOp, ReadView } from '../backend/backend.ts';
import { OPEN_ACL, parseAclText, type Acl } from '../core/acl/acl.ts';
import { zkError } from '../core/errors.ts';
import { CREATE_MODES, NO_TTL, type CreateMode, type Stat } from '../core/tree/znode.ts';
import type { AppDeps } from './app-deps.ts';
import { badRequest, RequestRejected } from './errors.ts';
import { errorReply, type Reply } from './reply.ts';
import { sessionRequired } from './session-context.ts';
import { encodeData, expectedVersion, parseBoolean, parseEncoding, statJson, statJsonText } from './values.ts';
import { commitWrite } from './writes.ts';
import { childrenPage, pageQueryOf } from './children-page.ts';
import { locationOf, requestedPathOf, validZnodePath } from './znode-path.ts';

/** What a znode call reads of its request, whatever carried it. */
export interface CallRequest {
  readonly method: string;
  /** The request target's path, still percent-encoded (before any `?`). */
  readonly rawPath: string;
  query(name: string): string | undefined;
  /** A header by its lower-case name. */
  header(name: string): string | undefined;
  /** The body: as it is when it was read with the head (the wire path), else once it has arrived. */
  readBody(limit: number): Uint8Array | Promise<Uint8Array>;
  /** The session the request acts for (authenticated), 0 for none. */
  session(): number;
  /** Who sent it (the pipeline's authenticate step: caller.ts). */
  caller(): Caller;
}

export type ZnodeCall = (deps: AppDeps, req: CallRequest) => Promise<Reply>;

export const ZNODES = '/v1/znodes';

/** `{"path":…,"stat":…}`, the answer of most calls. */
const pathAndStat = (path: string, stat: Stat) => `{"path":${JSON.stringify(path)},"stat":${statJsonText(stat)}}`;

function noNode(method: string, path: string): Reply {
  return errorReply(zkError('NONODE', `${path} does not exist`, path), method);
}

/** `?consistency=`: local (the default) or linearizable (after a quorum-confirmed barrier). */
function consistencyOf(req: CallRequest): 'local' | 'linearizable' {
  const consistency = req.query('consistency');
  if (consistency === undefined || consistency === 'local') return 'local';
  if (consistency === 'linearizable') return consistency;
  throw badRequest(`consistency must be local or linearizable, got "${consistency}"`);
}

/** The session a read watches for (0 when it sets no watch). `?watch=true` needs a session. */
function watchFor(req: CallRequest): number {
  const watch = parseBoolean(req.query('watch'), 'watch');
  const session = req.session();
  if (watch && session === 0) throw sessionRequired('watch=true');
  return watch ? session : 0;
}

/**
 * The read, from the backend: this member's state, after a barrier for a linearizable one; with
 * watch=true a transaction that sets the watch as it reads, so no change slips between the two.
 */
async function view(deps: AppDeps, req: CallRequest, op: ReadOp, path: string): Promise<ReadView> {
  const read = deps.backend.read({ op, path, consistency: consistencyOf(req), watchSession: watchFor(req), caller: req.caller() });
  const answered = read instanceof Promise ? await read : read;
  if ('code' in answered) throw new RequestRejected(answered);
  return answered;
}

function parseMode(raw: string | undefined): CreateMode {
  if (raw === undefined) return 'persistent';
  if ((CREATE_MODES as readonly string[]).includes(raw)) return raw as CreateMode;
  throw badRequest(`mode must be one of ${CREATE_MODES.join(', ')}; got "${raw}"`);
}

function parseTtl(raw: string | undefined): number {
  if (raw === undefined) return NO_TTL;
  if (!/^\d{1,16}$/.test(raw)) throw badRequest(`ttl must be a positive integer of milliseconds, got "${raw}"`);
  return Number(raw);
}

/** A create's `Zk-Acl` header (zkCli's `scheme:id:perms,…`, or the JSON form); the open ACL without one. */
export function aclOf(header: string | undefined, path: string): Acl {
  if (header === undefined) return OPEN_ACL;
  const acl = parseAclText(header, path);
  if ('code' in acl) throw new RequestRejected(acl);
  return acl;
}

const pathOf = (req: CallRequest, prefix: string) => validZnodePath(requestedPathOf(req.rawPath, prefix));

/** HEAD /v1/znodes/{path}: exists, as a status and an ETag. It sets a data watch whether or not the node is there. */
const exists: ZnodeCall = async (deps, req) => {
  const path = pathOf(req, ZNODES);
  const { stat } = await view(deps, req, 'exists', path);
  if (!stat) return { status: 404 };
  return { status: 200, etag: stat.version };
};

/** GET /v1/znodes/{path}: getData, as JSON with the Stat, or the raw bytes. */
export const getData: ZnodeCall = async (deps, req) => {
  if (req.method === 'HEAD') return exists(deps, req);
  const path = pathOf(req, ZNODES);
  const force = parseEncoding(req.query('encoding'));
  const { stat, data } = await view(deps, req, 'getData', path);
  if (!stat || !data) return noNode(req.method, path);
  if ((req.header('accept') ?? '').includes('application/octet-stream')) return { status: 200, etag: stat.version, bytes: data };
  const { data: text, encoding } = encodeData(data, force);
  return { status: 200, etag: stat.version, jsonText: `{"path":${JSON.stringify(path)},"data":${JSON.stringify(text)},"encoding":"${encoding}","stat":${statJsonText(stat)}}` };
};

export const create: ZnodeCall = async (deps, req) => {
  const path = requestedPathOf(req.rawPath, ZNODES);
  const mode = parseMode(req.query('mode'));
  const ttlMs = parseTtl(req.query('ttl'));
  const session = req.session();
  const body = req.readBody(deps.config.maxDataBytes);
  // No await for a body already read: each one is a turn of the microtask queue and a promise.
  const data = body instanceof Uint8Array ? body : await body;
  const acl = aclOf(req.header('zk-acl'), path);
  const { outcome, zxid } = await commitWrite(deps, [{ type: 'create', path, data, mode, ttlMs, acl }], false, session, req);
  if (!outcome.ok) return { ...errorReply(outcome.error, req.method), zxid };
  const result = outcome.results[0]!;
  if (result.type !== 'create') throw new Error('create answered with another op');
  return { status: 201, location: locationOf(result.path), jsonText: pathAndStat(result.path, result.stat), zxid };
};

export const setData: ZnodeCall = async (deps, req) => {
  const path = pathOf(req, ZNODES);
  const version = expectedVersion(req.query('version'), req.header('if-match'), path);
  const session = req.session();
  const body = req.readBody(deps.config.maxDataBytes);
  // No await for a body already read: each one is a turn of the microtask queue and a promise.
  const data = body instanceof Uint8Array ? body : await body;
  const { outcome, zxid } = await commitWrite(deps, [{ type: 'setData', path, data, version }], false, session, req);
  if (!outcome.ok) return { ...errorReply(outcome.error, req.method), zxid };
  const result = outcome.results[0]!;
  if (result.type !== 'setData') throw new Error('setData answered with another op');
  return { status: 200, etag: result.stat.version, jsonText: pathAndStat(path, result.stat), zxid };
};

export const remove: ZnodeCall = async (deps, req) => {
  const path = pathOf(req, ZNODES);
  const version = expectedVersion(req.query('version'), req.header('if-match'), path);
  const { outcome, zxid } = await commitWrite(deps, [{ type: 'delete', path, version }], false, req.session(), req);
  if (!outcome.ok) return { ...errorReply(outcome.error, req.method), zxid };
  return { status: 204, zxid };
};

/** GET /v1/stat/{path}: exists with the Stat as JSON. */
export const stat: ZnodeCall = async (deps, req) => {
  const path = pathOf(req, '/v1/stat');
  const s = (await view(deps, req, 'exists', path)).stat;
  return s ? { status: 200, jsonText: pathAndStat(path, s) } : noNode(req.method, path);
};

/** GET /v1/children/{path}: getChildren2, a page at a time (children-page.ts). */
export const children: ZnodeCall = async (deps, req) => {
  const path = pathOf(req, '/v1/children');
  const page = pageQueryOf(req.query('limit'), req.query('after'), deps.config.maxChildrenPerPage);
  const { stat: s, children: names } = await view(deps, req, 'getChildren', path);
  if (!s || !names) return noNode(req.method, path);
  const { children: listed, more } = childrenPage(names, page);
  return { status: 200, json: { path, children: listed, stat: statJson(s), more } };
};

/**
 * GET /v1/descendants/{path}: getAllChildrenNumber (ZooKeeper 3.6+), how many nodes are below the
 * node at every depth — the count getChildren's pages leave out. READ on the node, as ZooKeeper
 * asks; no watch (ZooKeeper's call sets none). A linearizable one reads after a quorum barrier.
 */
export const allChildrenNumber: ZnodeCall = async (deps, req) => {
  const path = pathOf(req, '/v1/descendants');
  if (consistencyOf(req) === 'linearizable') {
    const error = await deps.backend.sync();
    if (error) throw new RequestRejected(error);
  }
  const asked = deps.backend.allChildrenNumber(path, req.caller());
  const count = asked instanceof Promise ? await asked : asked;
  if (count === undefined) return noNode(req.method, path);
  if (typeof count !== 'number') throw new RequestRejected(count);
  return { status: 200, jsonText: `{"path":${JSON.stringify(path)},"count":${count}}` };
};

/** The call for a method on /v1/znodes. */
export const ZNODE_CALLS: Readonly<Record<string, ZnodeCall>> = {
  GET: getData, HEAD: getData, POST: create, PUT: setData, DELETE: remove,
};

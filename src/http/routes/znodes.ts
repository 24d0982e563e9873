/** The znode calls: getData, exists, stat, getChildren, create, setData, delete. */
import { Hono, type Context } from 'hono';
import { zkError } from '../../core/errors.ts';
import { CREATE_MODES, NO_TTL, type CreateMode } from '../../core/tree/znode.ts';
import type { AppDeps } from '../app-deps.ts';
import type { Stat } from '../../core/tree/znode.ts';
import { badRequest, errorResponse, RequestRejected } from '../errors.ts';
import { readBody } from '../body.ts';
import { requireSession, sessionOf } from '../session-context.ts';
import { encodeData, expectedVersion, parseBoolean, parseEncoding, statJson } from '../values.ts';
import { commitWrite, requestIdOf } from '../writes.ts';
import { locationOf, requestedPath, znodePath } from '../znode-path.ts';

const ZNODES = '/v1/znodes';

function noNode(c: Context, path: string): Response {
  return errorResponse(c, zkError('NONODE', `${path} does not exist`, path));
}

interface ReadOptions {
  /** The session to watch for, 0 when the read sets no watch. */
  readonly watchFor: number;
}

/**
 * Options every read takes. `?watch=true` registers a watch for the calling session (sessions
 * bring the registry). `consistency=linearizable` was handled before the route (linearizable.ts).
 */
function readOptions(c: Context, deps: AppDeps): ReadOptions {
  const consistency = c.req.query('consistency');
  if (consistency !== undefined && consistency !== 'local' && consistency !== 'linearizable') {
    throw badRequest(`consistency must be local or linearizable, got "${consistency}"`);
  }
  const watch = parseBoolean(c.req.query('watch'), 'watch');
  const session = sessionOf(c, deps);
  if (watch && session === 0) requireSession(c, deps, 'watch=true');
  return { watchFor: watch ? session : 0 };
}

/** What a read answers from: the node (absent: no stat), its data or its children. */
interface ReadView {
  readonly stat?: Stat | undefined;
  readonly data?: Uint8Array | undefined;
  readonly children?: readonly string[] | undefined;
}

/**
 * The read from this node's tree; with watch=true, the read is a transaction that sets the
 * watch as it reads (watches are replicated), so no change can slip between the two.
 */
async function view(deps: AppDeps, options: ReadOptions, op: 'getData' | 'exists' | 'getChildren', path: string): Promise<ReadView> {
  if (options.watchFor === 0) {
    const { tree } = deps.node.host;
    const stat = tree.stat(path);
    if (!stat) return {};
    return { stat, data: tree.get(path)!.data, children: op === 'getChildren' ? tree.childNames(path) : undefined };
  }
  const result = await deps.node.sessions.watch(options.watchFor, { op, path });
  if ('code' in result) throw new RequestRejected(result);
  if (result.ok) return result;
  if (result.error.code === 'NONODE') return {};
  throw new RequestRejected(result.error);
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

export function znodeRoutes(deps: AppDeps): Hono {
  const app = new Hono();

  // Hono routes HEAD to the GET handler: HEAD is exists (status and ETag alone).
  const exists = async (c: Context) => {
    const path = znodePath(c, ZNODES);
    const options = readOptions(c, deps);
    // exists sets a data watch whether or not the node is there (it fires on creation).
    const { stat } = await view(deps, options, 'exists', path);
    if (!stat) return c.body(null, 404);
    c.header('ETag', `"${stat.version}"`);
    return c.body(null, 200);
  };

  const getData = async (c: Context) => {
    if (c.req.method === 'HEAD') return exists(c);
    const path = znodePath(c, ZNODES);
    const force = parseEncoding(c.req.query('encoding'));
    const { stat, data } = await view(deps, readOptions(c, deps), 'getData', path);
    if (!stat || !data) return noNode(c, path);
    c.header('ETag', `"${stat.version}"`);
    if ((c.req.header('accept') ?? '').includes('application/octet-stream')) {
      return c.body(new Uint8Array(data), 200, { 'Content-Type': 'application/octet-stream' });
    }
    return c.json({ path, ...encodeData(data, force), stat: statJson(stat) });
  };
  app.get(ZNODES, getData);
  app.get(`${ZNODES}/*`, getData);

  const create = async (c: Context) => {
    const path = requestedPath(c, ZNODES);
    const mode = parseMode(c.req.query('mode'));
    const ttlMs = parseTtl(c.req.query('ttl'));
    const session = sessionOf(c, deps);
    const data = await readBody(c, deps.config.maxDataBytes);
    const outcome = await commitWrite(deps, [{ type: 'create', path, data, mode, ttlMs }], false, session, requestIdOf(c));
    if (!outcome.ok) return errorResponse(c, outcome.error);
    const result = outcome.results[0]!;
    if (result.type !== 'create') throw new Error('create answered with another op');
    c.header('Location', locationOf(result.path));
    return c.json({ path: result.path, stat: statJson(result.stat) }, 201);
  };
  app.post(ZNODES, create);
  app.post(`${ZNODES}/*`, create);

  const setData = async (c: Context) => {
    const path = znodePath(c, ZNODES);
    const version = expectedVersion(c.req.query('version'), c.req.header('if-match'), path);
    const session = sessionOf(c, deps);
    const data = await readBody(c, deps.config.maxDataBytes);
    const outcome = await commitWrite(deps, [{ type: 'setData', path, data, version }], false, session, requestIdOf(c));
    if (!outcome.ok) return errorResponse(c, outcome.error);
    const result = outcome.results[0]!;
    if (result.type !== 'setData') throw new Error('setData answered with another op');
    c.header('ETag', `"${result.stat.version}"`);
    return c.json({ path, stat: statJson(result.stat) });
  };
  app.put(ZNODES, setData);
  app.put(`${ZNODES}/*`, setData);

  const remove = async (c: Context) => {
    const path = znodePath(c, ZNODES);
    const version = expectedVersion(c.req.query('version'), c.req.header('if-match'), path);
    const outcome = await commitWrite(deps, [{ type: 'delete', path, version }], false, sessionOf(c, deps), requestIdOf(c));
    if (!outcome.ok) return errorResponse(c, outcome.error);
    return c.body(null, 204);
  };
  app.delete(ZNODES, remove);
  app.delete(`${ZNODES}/*`, remove);

  const stat = async (c: Context) => {
    const path = znodePath(c, '/v1/stat');
    const s = (await view(deps, readOptions(c, deps), 'exists', path)).stat;
    return s ? c.json({ path, stat: statJson(s) }) : noNode(c, path);
  };
  app.get('/v1/stat', stat);
  app.get('/v1/stat/*', stat);

  const children = async (c: Context) => {
    const path = znodePath(c, '/v1/children');
    const { stat: s, children: names } = await view(deps, readOptions(c, deps), 'getChildren', path);
    if (!s || !names) return noNode(c, path);
    return c.json({ path, children: names, stat: statJson(s) });
  };
  app.get('/v1/children', children);
  app.get('/v1/children/*', children);

  return app;
}

/** The znode calls: getData, exists, stat, getChildren, create, setData, delete. */
import { Hono, type Context } from 'hono';
import { zkError } from '../../core/errors.ts';
import { CREATE_MODES, NO_TTL, type CreateMode } from '../../core/tree/znode.ts';
import type { AppDeps } from '../app-deps.ts';
import type { OneShotKind } from '../../core/watch/watch-registry.ts';
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

/** Registers the read's watch in the same turn as the read, so no change can slip between. */
function watch(deps: AppDeps, options: ReadOptions, path: string, kind: OneShotKind): void {
  if (options.watchFor === 0) return;
  const error = deps.node.sessions.addWatch(options.watchFor, path, kind);
  if (error) throw new RequestRejected(error);
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
  const { tree } = deps.node.host;

  // Hono routes HEAD to the GET handler: HEAD is exists (status and ETag alone).
  const exists = (c: Context) => {
    const path = znodePath(c, ZNODES);
    const options = readOptions(c, deps);
    // exists sets a data watch whether or not the node is there (it fires on creation).
    watch(deps, options, path, 'data');
    const stat = tree.stat(path);
    if (!stat) return c.body(null, 404);
    c.header('ETag', `"${stat.version}"`);
    return c.body(null, 200);
  };

  const getData = (c: Context) => {
    if (c.req.method === 'HEAD') return exists(c);
    const path = znodePath(c, ZNODES);
    const force = parseEncoding(c.req.query('encoding'));
    const options = readOptions(c, deps);
    const node = tree.get(path);
    if (!node) return noNode(c, path);
    watch(deps, options, path, 'data');
    const stat = tree.stat(path)!;
    c.header('ETag', `"${stat.version}"`);
    if ((c.req.header('accept') ?? '').includes('application/octet-stream')) {
      return c.body(new Uint8Array(node.data), 200, { 'Content-Type': 'application/octet-stream' });
    }
    return c.json({ path, ...encodeData(node.data, force), stat: statJson(stat) });
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

  const stat = (c: Context) => {
    const path = znodePath(c, '/v1/stat');
    watch(deps, readOptions(c, deps), path, 'data');
    const s = tree.stat(path);
    return s ? c.json({ path, stat: statJson(s) }) : noNode(c, path);
  };
  app.get('/v1/stat', stat);
  app.get('/v1/stat/*', stat);

  const children = (c: Context) => {
    const path = znodePath(c, '/v1/children');
    const options = readOptions(c, deps);
    const s = tree.stat(path);
    if (!s) return noNode(c, path);
    watch(deps, options, path, 'child');
    return c.json({ path, children: tree.childNames(path), stat: statJson(s) });
  };
  app.get('/v1/children', children);
  app.get('/v1/children/*', children);

  return app;
}

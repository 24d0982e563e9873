/**
 * zkCli's commands over the typed client: each takes parsed arguments, makes its requests
 * through CorralClient (failover across `--server`, newest-zxid tracking, request ids on
 * writes) and prints through Output. A ZooKeeper error becomes a thrown CorralError, which
 * main.ts turns into exit code 1.
 */
import { CorralClient, CorralError, znodeUrl } from '../client/corral-client.ts';
import { CorralSession } from '../client/session.ts';
import type { components } from '../client/api-types.ts';
import { checkPath, createMode, UsageError, type CreateFlags } from './args.ts';
import type { Output, Stat } from './output.ts';

type NodeData = components['schemas']['NodeData'];
type NodeAcl = components['schemas']['NodeAcl'];
type Cluster = components['schemas']['Cluster'];
interface Children { path: string; children: string[]; stat: Stat }

export interface Context {
  readonly client: CorralClient;
  readonly out: Output;
  /** The same command's context against another server (the leader a member named), same credentials. */
  readonly reroute?: (server: string) => Context;
}

/** The client for `--server` and `--user`: Basic credentials go on every request. */
export function makeClient(servers: readonly string[], user: string | undefined): CorralClient {
  const authorization = user === undefined ? undefined : `Basic ${Buffer.from(user).toString('base64')}`;
  const withAuth: typeof fetch = (input, init) => {
    if (authorization === undefined) return fetch(input, init);
    const headers = new Headers(init?.headers);
    headers.set('Authorization', authorization);
    return fetch(input, { ...init, headers });
  };
  return new CorralClient({ urls: servers, fetch: withAuth });
}

/** The error a non-2xx answer carries (HEAD answers have no body: the status names it). */
export async function failure(response: Response): Promise<CorralError> {
  const text = await response.text().catch(() => '');
  let body: { code?: string; zkCode?: number; message?: string; path?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON (a proxy's page): the status line says what we know
  }
  const message = body.message ?? (text.trim().slice(0, 200) || response.statusText);
  return new CorralError(response.status, body.code ?? `HTTP ${response.status}`, body.zkCode ?? -1, message);
}

async function json<T>(response: Response): Promise<T> {
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

async function ok(response: Response): Promise<void> {
  if (!response.ok) throw await failure(response);
  await response.body?.cancel();
}

function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined);
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}`;
}

function child(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

async function children(ctx: Context, path: string): Promise<Children> {
  return json<Children>(await ctx.client.raw(znodeUrl('/v1/children', path)));
}

/** Every path under `path` (itself included), parents before children; bounded so a huge tree cannot run forever. */
async function subtree(ctx: Context, path: string, limit = 1_000_000): Promise<string[]> {
  const all: string[] = [];
  const queue = [path];
  while (queue.length > 0) {
    const next = queue.shift()!;
    all.push(next);
    if (all.length > limit) throw new UsageError(`more than ${limit} nodes under ${path}`);
    try {
      for (const name of (await children(ctx, next)).children) queue.push(child(next, name));
    } catch (error) {
      // A node deleted while we walk is simply not there any more; the root's absence is an error.
      if (!(error instanceof CorralError && error.code === 'NONODE' && next !== path)) throw error;
    }
  }
  return all;
}

export async function ls(ctx: Context, path: string, opts: { recursive?: boolean; stat?: boolean }): Promise<void> {
  checkPath(path);
  if (opts.recursive) {
    const paths = await subtree(ctx, path);
    if (ctx.out.json) return ctx.out.data({ path, paths });
    for (const p of paths) ctx.out.line(p);
    return;
  }
  const result = await children(ctx, path);
  if (ctx.out.json) return ctx.out.data(opts.stat ? result : { path: result.path, children: result.children });
  for (const name of result.children) ctx.out.line(name);
  if (opts.stat) ctx.out.stat(result.stat);
}

export async function get(ctx: Context, path: string, opts: { stat?: boolean }): Promise<void> {
  checkPath(path);
  const node = await json<NodeData>(await ctx.client.raw(znodeUrl('/v1/znodes', path)));
  if (ctx.out.json) return ctx.out.data(node);
  const data = Buffer.from(node.data, node.encoding === 'base64' ? 'base64' : 'utf8');
  // Alone, the bytes exactly as stored (scripts); with the stat, on a line of their own.
  ctx.out.bytes(opts.stat && data.at(-1) !== 0x0a ? Buffer.concat([data, Buffer.from('\n')]) : data);
  if (opts.stat) ctx.out.stat(node.stat);
}

export async function stat(ctx: Context, path: string): Promise<void> {
  checkPath(path);
  const node = await json<{ path: string; stat: Stat }>(await ctx.client.raw(znodeUrl('/v1/stat', path)));
  if (ctx.out.json) return ctx.out.data(node);
  ctx.out.stat(node.stat);
}

export async function set(ctx: Context, path: string, data: string, opts: { version?: number }): Promise<void> {
  checkPath(path);
  // Raw bytes, not openapi-fetch's JSON encoding: the node stores exactly what was typed.
  const response = await ctx.client.raw(`${znodeUrl('/v1/znodes', path)}${query({ version: opts.version })}`, {
    method: 'PUT', body: Buffer.from(data, 'utf8'), headers: { 'Content-Type': 'application/octet-stream' },
  });
  const result = await json<{ path: string; stat: Stat }>(response);
  if (ctx.out.json) return ctx.out.data(result);
  ctx.out.stat(result.stat);
}

export interface CreateOptions extends CreateFlags {
  readonly acl?: string;
  /** With -e: how long to keep the session (and so the node) before exiting, in ms. */
  readonly hold?: number;
  readonly sessionTimeout: number;
}

export async function create(ctx: Context, path: string, data: string | undefined, opts: CreateOptions): Promise<void> {
  const mode = createMode(opts);
  checkPath(path, { sequential: mode.includes('sequential') });
  if (opts.hold !== undefined && !opts.ephemeral) throw new UsageError('--hold only applies to an ephemeral node (-e)');
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
  if (opts.acl !== undefined) headers['Zk-Acl'] = opts.acl;
  const url = `${znodeUrl('/v1/znodes', path)}${query({ mode, ttl: opts.ttl })}`;
  const init: RequestInit = { method: 'POST', body: Buffer.from(data ?? '', 'utf8'), headers };
  // An ephemeral node needs a session: this command's own, closed when the command ends.
  const session = opts.ephemeral ? await CorralSession.open(ctx.client, opts.sessionTimeout) : undefined;
  try {
    const response = session ? await session.request(url, init) : await ctx.client.raw(url, init);
    const result = await json<{ path: string; stat: Stat }>(response);
    if (ctx.out.json) ctx.out.data(result);
    else ctx.out.line(`Created ${result.path}`);
    if (session && opts.hold !== undefined) {
      ctx.out.note(`holding session ${session.id} for ${opts.hold} ms (Ctrl-C ends it sooner)`);
      await holdFor(opts.hold);
    }
  } finally {
    await session?.close().catch(() => undefined);
  }
}

/** Resolves after `ms`, or at once on Ctrl-C / SIGTERM, so the session is still closed cleanly. */
function holdFor(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

export async function del(ctx: Context, path: string, opts: { version?: number }): Promise<void> {
  checkPath(path);
  await ok(await ctx.client.raw(`${znodeUrl('/v1/znodes', path)}${query({ version: opts.version })}`, { method: 'DELETE' }));
  if (ctx.out.json) ctx.out.data({ path, deleted: true });
}

/** zkCli's deleteall: the subtree bottom-up; nodes removed by someone else meanwhile are fine. */
export async function deleteAll(ctx: Context, path: string): Promise<void> {
  checkPath(path);
  if (path === '/') throw new UsageError('refusing to delete the whole tree from /');
  const paths = await subtree(ctx, path);
  let deleted = 0;
  for (const p of paths.reverse()) {
    const response = await ctx.client.raw(znodeUrl('/v1/znodes', p), { method: 'DELETE' });
    if (response.ok) deleted++;
    const error = response.ok ? undefined : await failure(response);
    if (error && error.code !== 'NONODE') throw error;
  }
  if (ctx.out.json) ctx.out.data({ path, deleted });
}

export async function sync(ctx: Context, path: string): Promise<void> {
  checkPath(path);
  const result = await json<{ path: string; zxid: string }>(await ctx.client.raw(znodeUrl('/v1/sync', path), { method: 'POST' }));
  if (ctx.out.json) return ctx.out.data(result);
  ctx.out.line(`Sync is OK (zxid ${result.zxid})`);
}

export async function getAcl(ctx: Context, path: string, opts: { stat?: boolean }): Promise<void> {
  checkPath(path);
  const result = await json<NodeAcl>(await ctx.client.raw(znodeUrl('/v1/acl', path)));
  if (ctx.out.json) return ctx.out.data(result);
  for (const entry of result.acl) ctx.out.line(`${entry.scheme}:${entry.id}:${entry.perms}`);
  if (opts.stat) ctx.out.stat(result.stat);
}

export async function setAcl(ctx: Context, path: string, acl: string, opts: { version?: number }): Promise<void> {
  checkPath(path);
  const response = await ctx.client.raw(`${znodeUrl('/v1/acl', path)}${query({ version: opts.version })}`, {
    method: 'PUT', body: acl, headers: { 'Content-Type': 'text/plain' },
  });
  const result = await json<{ path: string; stat: Stat }>(response);
  if (ctx.out.json) return ctx.out.data(result);
  ctx.out.stat(result.stat);
}

export async function cluster(ctx: Context): Promise<void> {
  const result = await json<Cluster>(await ctx.client.raw('/v1/cluster'));
  if (ctx.out.json) return ctx.out.data(result);
  ctx.out.line(`self ${result.self}, role ${result.role}, leader ${result.leader ?? 'none'}, epoch ${result.epoch}`);
  ctx.out.line(`lastZxid ${result.lastZxid}, commitZxid ${result.commitZxid}`);
  ctx.out.table(['ID', 'ADDRESS', 'ROLE', 'LAG', 'CONNECTED'], result.members.map((m) => [
    String(m.id), m.address, m.role, m.lag === null ? '-' : String(m.lag), m.connected === undefined ? '-' : String(m.connected),
  ]));
}

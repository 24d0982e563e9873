/**
 * The reads and writes the part-B recipes (caches, discovery, barriers, queue, counter) share:
 * a node's bytes with its stat in one read, every child of a node across pages, and a write
 * made exactly once even when its answer is lost. That last one is the pitfall behind "an item
 * taken twice" or "an increment counted twice": a write whose answer was lost (the client's
 * failover gave up: CONNECTIONLOSS or a final 503) may have been applied, so it is sent again
 * with the same Zk-Request-Id, which the server answers with the first attempt's result
 * instead of applying it again (docs/architecture.md, "Zk-Request-Id makes retries safe").
 */
import { CorralError, znodeUrl, type ZnodeStat } from '../corral-client.ts';
import { errorFromResponse } from '../errors.ts';
import type { CorralSession } from '../session.ts';

/** How the recipes reach the server: a session's request (ordered with its events) or a client's raw fetch. */
export type Requester = (path: string, init?: RequestInit) => Promise<Response>;

export interface NodeSnapshot {
  readonly path: string;
  readonly data: Uint8Array;
  readonly stat: ZnodeStat;
}

/** A write whose answer was lost is sent again (same request id) at most this many times. */
const WRITE_ATTEMPTS_MAX = 5;
const WRITE_RETRY_PAUSE_MS = 200;
/** Pages of children read at most for one listing (a page is --max-children-per-page names). */
const CHILD_PAGES_MAX = 10_000;

export function requesterOf(session: CorralSession): Requester {
  return (path, init) => session.request(path, init);
}

/** A node's data and stat as of one read, or undefined when it does not exist. */
export async function readNode(request: Requester, path: string): Promise<NodeSnapshot | undefined> {
  const response = await request(`${znodeUrl('/v1/znodes', path)}?encoding=base64`);
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) throw await errorFromResponse(response);
  const body = (await response.json()) as { data: string; stat: ZnodeStat };
  return { path, data: Uint8Array.from(atob(body.data), (c) => c.charCodeAt(0)), stat: body.stat };
}

/** Every child name of `path` (sorted), following `more` across pages; undefined when it does not exist. */
export async function readChildren(request: Requester, path: string): Promise<string[] | undefined> {
  const names: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < CHILD_PAGES_MAX; page++) {
    const query = after === undefined ? '' : `?after=${encodeURIComponent(after)}`;
    const response = await request(`${znodeUrl('/v1/children', path)}${query}`);
    if (response.status === 404) {
      await response.body?.cancel();
      return page === 0 ? undefined : names; // deleted between pages: what was listed is all there was
    }
    if (!response.ok) throw await errorFromResponse(response);
    const body = (await response.json()) as { children: string[]; more?: boolean };
    names.push(...body.children);
    if (!body.more || body.children.length === 0) return names;
    after = body.children[body.children.length - 1];
  }
  throw new CorralError(0, 'SYSTEMERROR', -1, `${path} has more than ${CHILD_PAGES_MAX} pages of children`);
}

/** Whether a failure leaves the write's outcome unknown (so it is worth sending again). */
export function outcomeUnknown(error: unknown): boolean {
  return error instanceof CorralError && (error.code === 'CONNECTIONLOSS' || error.status === 503 || error.status === 0);
}

/**
 * Sends a write with one Zk-Request-Id, again with the same id while its outcome is unknown; the
 * answer is the first applied attempt's. Any answer that is not a 503 is returned to the caller.
 */
export async function writeOnce(request: Requester, path: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('Zk-Request-Id', `recipe.${globalThis.crypto.randomUUID()}`);
  for (let attempt = 1; ; attempt++) {
    let failure: unknown;
    try {
      const response = await request(path, { ...init, headers });
      if (response.status !== 503) return response;
      failure = await errorFromResponse(response);
    } catch (error) {
      failure = error;
    }
    if (!outcomeUnknown(failure) || attempt >= WRITE_ATTEMPTS_MAX) throw failure;
    await new Promise((resolve) => setTimeout(resolve, WRITE_RETRY_PAUSE_MS * attempt));
  }
}

/** Throws the response's error body unless its status is one of `ok`, else frees the body; answers the status. */
export async function expectStatus(response: Response, ok: readonly number[]): Promise<number> {
  if (!ok.includes(response.status)) throw await errorFromResponse(response);
  await response.body?.cancel();
  return response.status;
}

/** Creates `path` and its missing ancestors as persistent nodes (NODEEXISTS is success). */
export async function ensureNode(request: Requester, path: string): Promise<void> {
  const parts = path.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const response = await writeOnce(request, znodeUrl('/v1/znodes', `/${parts.slice(0, i).join('/')}`), {
      method: 'POST', body: new Uint8Array(), headers: { 'Content-Type': 'application/octet-stream' },
    });
    if (response.status !== 201 && response.status !== 409) throw await errorFromResponse(response);
    await response.body?.cancel();
  }
}

/** Refuses a recipe path that is not an absolute znode path. */
export function checkRecipePath(kind: string, path: string): void {
  if (!path.startsWith('/') || (path.endsWith('/') && path !== '/')) {
    throw new CorralError(400, 'BADARGUMENTS', -8, `a ${kind} path is an absolute znode path, got "${path}"`);
  }
}

/** The path of `name` under `parent` (the root's children included). */
export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/**
 * The console's one road to the node: the typed Corral client (src/client) over this page's
 * origin, every request carrying the logged-in user's Authorization. The console never reaches
 * around the public API, so it can do nothing its user may not.
 */
import { CorralClient, CorralError, znodeUrl, type ZnodeStat } from '../src/client/corral-client.ts';
import { errorFromResponse } from '../src/client/errors.ts';

export { CorralError, znodeUrl, type ZnodeStat };

let authorization: string | undefined;

/** The Authorization header every later request carries (undefined: none). */
export function setAuthorization(value: string | undefined): void {
  authorization = value;
}

/** `init` with the login's Authorization added. */
export function withAuth(init: HeadersInit = {}): Headers {
  const headers = new Headers(init);
  if (authorization !== undefined && !headers.has('Authorization')) headers.set('Authorization', authorization);
  return headers;
}

/**
 * `credentials: 'omit'`: the login is this header alone. A 401's Basic challenge then reaches the
 * console as an answer instead of the browser's own password prompt (the Fetch standard prompts
 * only for requests that include credentials), and no cookie or cached browser login rides along.
 */
export const CREDENTIALS: RequestCredentials = 'omit';

const authedFetch: typeof fetch = (input, init) => {
  const request = new Request(input, { ...init, credentials: CREDENTIALS });
  if (authorization !== undefined && !request.headers.has('Authorization')) request.headers.set('Authorization', authorization);
  return fetch(request);
};

// A short failover window: the console shows a failure rather than hang while a node restarts.
export const client = new CorralClient({ baseUrl: location.origin, fetch: authedFetch, retryForMs: 2000 });

/** A JSON answer, or the contract's error body thrown as a CorralError. */
export async function getJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await client.raw(path, init);
  if (!response.ok) throw await errorFromResponse(response);
  return (await response.json()) as T;
}

/** A text answer (e.g. /metrics), or the error body thrown. */
export async function getText(path: string): Promise<string> {
  const response = await client.raw(path);
  if (!response.ok) throw await errorFromResponse(response);
  return response.text();
}

export interface NodeRead {
  readonly data: Uint8Array;
  readonly stat: ZnodeStat;
}

export async function readNode(path: string): Promise<NodeRead> {
  const body = await getJson<{ data: string; stat: ZnodeStat }>(`${znodeUrl('/v1/znodes', path)}?encoding=base64`);
  return { data: Uint8Array.from(atob(body.data), (ch) => ch.charCodeAt(0)), stat: body.stat };
}

export function readStat(path: string): Promise<ZnodeStat> {
  return getJson<{ stat: ZnodeStat }>(znodeUrl('/v1/stat', path)).then((body) => body.stat);
}

export interface ChildrenPage {
  readonly children: readonly string[];
  readonly more: boolean;
  readonly stat: ZnodeStat;
}

export function readChildren(path: string, after?: string): Promise<ChildrenPage> {
  const query = after === undefined ? '' : `?after=${encodeURIComponent(after)}`;
  return getJson<ChildrenPage>(`${znodeUrl('/v1/children', path)}${query}`);
}

export interface AclEntry {
  readonly perms: string;
  readonly scheme: string;
  readonly id: string;
}

export function readAcl(path: string): Promise<{ acl: readonly AclEntry[]; stat: ZnodeStat }> {
  return getJson(znodeUrl('/v1/acl', path));
}

/** setACL in zkCli's compact form, checked against `aversion`. */
export function writeAcl(path: string, compact: string, aversion: number): Promise<{ stat: ZnodeStat }> {
  return getJson(`${znodeUrl('/v1/acl', path)}?version=${aversion}`, { method: 'PUT', body: compact, headers: { 'Content-Type': 'text/plain' } });
}

/** A failure as the console shows it: the contract's code first, then its message. */
export function describeError(error: unknown): string {
  if (error instanceof CorralError) return `${error.code} (${error.status}): ${error.message.replace(`${error.code}: `, '')}`;
  return error instanceof Error ? error.message : String(error);
}

export const isCode = (error: unknown, code: string): boolean => error instanceof CorralError && error.code === code;

export const parentOf = (path: string): string => (path.lastIndexOf('/') <= 0 ? '/' : path.slice(0, path.lastIndexOf('/')));
export const nameOf = (path: string): string => (path === '/' ? '/' : path.slice(path.lastIndexOf('/') + 1));
export const join = (parent: string, name: string): string => (parent === '/' ? `/${name}` : `${parent}/${name}`);

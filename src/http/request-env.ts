/**
 * What a request brings besides the web Request, by how it arrived: under @hono/node-server the
 * Node request (`incoming`: the raw target, the body's stream); forwarded by a follower over the
 * peer link, the target and the body it already read (`forwarded`). In-process calls bring neither.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

export interface ForwardedEnv {
  readonly forwarded: { readonly target: string; readonly body: Uint8Array };
}

interface RequestEnv {
  readonly incoming?: IncomingMessage;
  readonly forwarded?: ForwardedEnv['forwarded'];
}

const envOf = (c: Context) => c.env as RequestEnv | undefined;

/** The Node request under @hono/node-server. */
export function incomingOf(c: Context): IncomingMessage | undefined {
  return envOf(c)?.incoming;
}

/** The body a follower forwarded, already read. */
export function forwardedBodyOf(c: Context): Uint8Array | undefined {
  return envOf(c)?.forwarded?.body;
}

/** The request target (path and query) as the client sent it: `.` and `..` not normalised away. */
export function rawTarget(c: Context): string {
  const env = envOf(c);
  return env?.incoming?.url ?? env?.forwarded?.target ?? c.req.url.replace(/^[a-z]+:\/\/[^/]+/i, '');
}

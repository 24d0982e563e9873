// Helpers for the in-process session tests (test/http/sessions*.test.ts): open a session, act
// for it, and look at what its stream would send. Responses are checked against openapi.yaml
// except on routes the spec does not list yet (then the call is made with `unchecked: true`).
import { expect } from 'vitest';
import { waitFor } from '../support/corral-process.ts';
import { operationIdFor } from '../support/openapi.ts';
import type { Reply, RequestOptions, TestNode } from '../support/test-node.ts';

export interface OpenSession {
  readonly id: string;
  readonly token: string;
  readonly timeoutMs: number;
}

/** A request, spec-checked when the spec has the route. */
export function call(t: TestNode, method: string, url: string, options: RequestOptions = {}): Promise<Reply> {
  const inSpec = operationIdFor(method, url.split('?')[0]!) !== undefined;
  return t.request(method, url, { ...options, unchecked: options.unchecked ?? !inSpec });
}

export async function openSession(t: TestNode, timeoutMs?: number): Promise<OpenSession> {
  const res = await call(t, 'POST', '/v1/sessions', { body: timeoutMs === undefined ? {} : { timeoutMs } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as OpenSession;
}

/** The headers that make a request act for `s`. */
export const as = (s: OpenSession): Record<string, string> => ({ 'zk-session-id': s.id, 'zk-session-token': s.token });

/** What the session's stream has queued, as `Type path` (watch events) or `session state`. */
export function queued(t: TestNode, s: OpenSession): string[] {
  const outbox = t.node.sessions.outbox(Number(s.id));
  if (!outbox) return [];
  const events = outbox.read(0);
  if (events === 'overflow') throw new Error('outbox overflowed');
  return events.map((e) => {
    const data = JSON.parse(e.data) as { type?: string; path?: string; state?: string };
    return e.event === 'watch' ? `${data.type} ${data.path}` : `session ${data.state}`;
  });
}

export async function exists(t: TestNode, path: string): Promise<boolean> {
  const res = await call(t, 'GET', `/v1/stat${path}`);
  return res.status === 200;
}

/** Polls (bounded) until `path` is gone; calls `meanwhile` on every round. */
export async function waitGone(t: TestNode, path: string, timeoutMs: number, meanwhile = async () => {}): Promise<void> {
  await waitFor(async () => {
    await meanwhile();
    return !(await exists(t, path));
  }, { timeoutMs, what: `${path} to be deleted` });
}

/**
 * Failover's pass-through (src/client/failover.ts `holding`) is kept for bodies read over time
 * only: a sized answer (every JSON answer) comes back as the wrapped fetch gave it — piping it
 * cost ~60–90 µs of CPU per call (bench/micro/failover-passthrough.ts) — while an event stream or
 * an unsized body still goes through the stream that holds the caller's Request (its abort after
 * garbage collection: failover-abort.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { Failover } from '../../src/client/failover.ts';

const BASE = 'http://127.0.0.1:1';

/** A failover over a stub that answers `response` and remembers it. */
function over(headers: Record<string, string>, body = '{"path":"/a"}'): { failover: Failover; answered: () => Response } {
  let last: Response | undefined;
  const stub: typeof fetch = async () => (last = new Response(body, { status: 200, headers }));
  return { failover: new Failover({ urls: [BASE], fetch: stub }), answered: () => last! };
}

describe('Failover pass-through', () => {
  it('returns a sized answer to a Request input as the wrapped fetch gave it, body intact', async () => {
    const { failover, answered } = over({ 'content-type': 'application/json', 'content-length': '13' });
    const response = await failover.fetch(new Request(`${BASE}/v1/znodes/a`));
    expect(response).toBe(answered());
    expect(await response.json()).toEqual({ path: '/a' });
  });

  it.each([
    ['an event stream', { 'content-type': 'text/event-stream' }],
    ['a sized event stream', { 'content-type': 'text/event-stream', 'content-length': '13' }],
    ['an unsized body (a backup)', { 'content-type': 'application/vnd.corral.backup' }],
  ])('pipes %s through the stream that holds the caller\'s Request, bytes intact', async (_what, headers) => {
    const { failover, answered } = over(headers, 'data: one\n\n');
    const response = await failover.fetch(new Request(`${BASE}/v1/watch/a`));
    expect(response).not.toBe(answered());
    expect(await response.text()).toBe('data: one\n\n');
  });
});

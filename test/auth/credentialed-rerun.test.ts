/**
 * The HTTP API's specifications again, on nodes run with --auth-required and a caller that sends
 * Basic credentials on every request (test/support/credentialed-mode.ts): znode calls, multi,
 * sessions and their watches, operations, and session event streams behave for an authenticated
 * caller on a locked-down node exactly as they do on an open one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CREDENTIALS_ENV } from '../support/credentialed-mode.ts';

const before = process.env[CREDENTIALS_ENV];
process.env[CREDENTIALS_ENV] = 'rerun:S3cret-rerun';
afterAll(() => {
  if (before === undefined) delete process.env[CREDENTIALS_ENV];
  else process.env[CREDENTIALS_ENV] = before;
});

const { startTestNode } = await import('../support/test-node.ts');

describe('the credentialed mode', () => {
  it('starts nodes that refuse anonymous callers and serve the credentialed one', async () => {
    const node = startTestNode();
    try {
      // The app itself, without the harness's header: a caller with no identity.
      const anonymous = await node.app.request('/v1/znodes/');
      expect(anonymous.status).toBe(401);
      const credentialed = await node.request('GET', '/v1/znodes/');
      expect(credentialed.status).toBe(200);
    } finally {
      await node.close();
    }
  });
});

await import('../http/znodes.test.ts');
await import('../http/multi.test.ts');
await import('../http/sessions.test.ts');
await import('../http/sessions-watches.test.ts');
await import('../http/operations.test.ts');
await import('../http/events.e2e.test.ts');
await import('../http/events-lifecycle.e2e.test.ts');

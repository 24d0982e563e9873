/**
 * A real browser as Corral's client: Chromium (driven by playwright-core) loads a page from a
 * static server on another origin; the page opens a session, subscribes with EventSource
 * (token in `?token=`), adds a persistent recursive watch on /app and lists every `watch` event
 * it gets. The test writes from Node and checks that the page shows exactly the events the
 * writes caused, in order — also across a dropped connection: the page reaches Corral through a
 * TCP proxy the test can cut, and EventSource's own reconnect (with Last-Event-ID) must bring
 * every missed event once, none twice. CORS is really exercised: the page is cross-origin and
 * Corral allows only its origin. The suite is eventsource-suite.ts; here against the embedded
 * store (test/backend/zookeeper/browser.gateway.e2e.test.ts runs it against a gateway).
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/server.ts';
import { eventSourceSuite } from './eventsource-suite.ts';

eventSourceSuite({
  name: 'embedded store',
  eventZxids: 'the change',
  async start({ corsOrigins }) {
    const dataDir = mkdtempSync(join(tmpdir(), 'corral-browser-'));
    const corral = await startServer({ dataDir, port: 0, host: '127.0.0.1', corsOrigins }).catch((error: unknown) => {
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    });
    return {
      url: corral.url,
      async close() {
        try {
          await corral.close();
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
    };
  },
});

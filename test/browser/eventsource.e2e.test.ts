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
import { startEmbeddedServer } from '../support/embedded-server.ts';
import { eventSourceSuite } from './eventsource-suite.ts';

eventSourceSuite({
  name: 'embedded store',
  eventZxids: 'the change',
  start: ({ corsOrigins }) => startEmbeddedServer('corral-browser-', { corsOrigins }),
});

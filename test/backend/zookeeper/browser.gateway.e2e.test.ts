/**
 * The browser test (test/browser/eventsource-suite.ts) against a gateway: Chromium's EventSource
 * on a session of a gateway in front of a real ZooKeeper 3.8 (Debian's package, one server on
 * loopback), cross-origin, across a dropped connection. Needs Chromium at /usr/bin/chromium and
 * ZooKeeper; fails, never skips, without them.
 */
import { eventSourceSuite } from '../../browser/eventsource-suite.ts';
import { gatewayOver, oneServer } from './gateway-over.ts';

eventSourceSuite({
  name: 'gateway over ZooKeeper',
  eventZxids: 'at or after the change', // docs/operations.md: notifications dated by a later read
  start: async ({ corsOrigins }) => gatewayOver(await oneServer(), { corsOrigins }),
});

/**
 * The watch suite (test/http/sessions-watches.test.ts: ?watch=true, addWatch, removeWatches, the
 * watch limit, watches at a session's end, getEphemerals) against a gateway over a real ZooKeeper
 * 3.8. A session's outbox is read once the session is settled (gateway-test-node.ts's sessionOutbox).
 */
import { vi } from 'vitest';
import { overZooKeeper } from './gateway-suite.ts';

vi.mock('../../support/test-node.ts', () => import('./gateway-test-node.ts'));

overZooKeeper();
await import('../../http/sessions-watches.test.ts');

/**
 * The children paging suite (test/limits/children-page.test.ts: ?limit= and ?after=, `more`, a
 * paged listing's child watch, getChildren pages in a read-only multi), unchanged, against a
 * gateway over a real ZooKeeper 3.8; its direct reads of the node are answered by the gateway
 * harness's node view (gateway-test-node.ts).
 */
import { vi } from 'vitest';
import { overZooKeeper } from './gateway-suite.ts';

vi.mock('../../support/test-node.ts', () => import('./gateway-test-node.ts'));

overZooKeeper();
await import('../../limits/children-page.test.ts');

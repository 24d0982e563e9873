/**
 * The Zk-Request-Id suite (test/http/request-id.test.ts) against a gateway over a real ZooKeeper
 * 3.8: the id is still checked (a malformed one is 400), but a retried write is applied again, as
 * docs/operations.md's gateway table says; the suite asserts that branch (harness 'gateway').
 */
import { vi } from 'vitest';
import { overZooKeeper } from './gateway-suite.ts';

vi.mock('../../support/test-node.ts', () => import('./gateway-test-node.ts'));

overZooKeeper();
await import('../../http/request-id.test.ts');

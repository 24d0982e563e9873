/**
 * The session endpoints' suite (test/http/sessions.test.ts: open, keepalive, close, who may act
 * for a session, ephemerals, expiry) against a gateway over a real ZooKeeper 3.8: timeouts are
 * clamped by ZooKeeper's tickTime (2 s) and ids are ZooKeeper's, as that suite's gateway branch says.
 */
import { vi } from 'vitest';
import { overZooKeeper } from './gateway-suite.ts';

vi.mock('../../support/test-node.ts', () => import('./gateway-test-node.ts'));

overZooKeeper();
await import('../../http/sessions.test.ts');

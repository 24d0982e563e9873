/**
 * The session-less watch-stream suite (test/http/watch-stream.e2e.test.ts: which events each kind
 * of watch gets, ids, resuming with Last-Event-ID or ?fromZxid= across replay pages and while
 * writes go on, `reset` when the history was trimmed) against a gateway over a real ZooKeeper
 * 3.8: startStreamServer gives the suite a gateway (gateway-test-node.ts). Where a gateway's
 * contract is weaker (docs/operations.md: its history is in memory, so a restart resets resumes;
 * a burst whose node's ACL it could not read is a reset), the suite asserts that.
 */
import { vi } from 'vitest';
import { overZooKeeper } from './gateway-suite.ts';

vi.mock('../../support/test-node.ts', () => import('./gateway-test-node.ts'));

overZooKeeper();
await import('../../http/watch-stream.e2e.test.ts');

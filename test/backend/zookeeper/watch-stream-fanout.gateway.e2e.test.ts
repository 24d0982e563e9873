/**
 * The session-less watch stream's fan-out suite (test/http/watch-stream-fanout.e2e.test.ts: the
 * writer's answer before any stream's event of its write; hundreds of streams under concurrent
 * writes each get every event once, in order, with the same ids) against a gateway over a real
 * ZooKeeper 3.8: the harness's startStreamServer gives it a gateway (gateway-test-node.ts). The
 * gateway's event zxids are at or after their change's (docs/operations.md), and the suite
 * asserts that there.
 */
import { vi } from 'vitest';
import { overZooKeeper } from './gateway-suite.ts';

vi.mock('../../support/test-node.ts', () => import('./gateway-test-node.ts'));

overZooKeeper();
await import('../../http/watch-stream-fanout.e2e.test.ts');

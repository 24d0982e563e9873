/**
 * The session-less watch stream's live-delivery suite (test/http/watch-stream-delivery.e2e.test.ts:
 * many streams of one path, unsubscribing, a client that stops reading gets overflow and resumes,
 * streams end when the server closes) against a gateway over a real ZooKeeper 3.8: the harness's
 * startStreamServer gives it a gateway (gateway-test-node.ts).
 */
import { vi } from 'vitest';
import { overZooKeeper } from './gateway-suite.ts';

vi.mock('../../support/test-node.ts', () => import('./gateway-test-node.ts'));

overZooKeeper();
await import('../../http/watch-stream-delivery.e2e.test.ts');

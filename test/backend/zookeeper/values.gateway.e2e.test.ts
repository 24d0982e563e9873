/**
 * The values suite (test/http/values.test.ts) against a gateway over a real ZooKeeper 3.8 (Debian's
 * package, one server on loopback): test-node.ts is replaced by the gateway harness.
 */
import { vi } from 'vitest';
import { overZooKeeper } from './gateway-suite.ts';

vi.mock('../../support/test-node.ts', () => import('./gateway-test-node.ts'));

overZooKeeper();
await import('../../http/values.test.ts');

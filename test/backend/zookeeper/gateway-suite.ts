/**
 * Runs an embedded-store suite against a gateway: starts one real ZooKeeper 3.8 for the file and
 * checks that the mocked harness really gives the suite a gateway. The suite file itself must
 * call `vi.mock('../../support/test-node.ts', () => import('./gateway-test-node.ts'))` (vitest
 * hoists mocks only from the test file) and then import the suite. A suite on the event-stream
 * tests' live server mocks `../../session/live-server.ts` with `./gateway-live-server.ts` and
 * says so (`{ harnesses: ['live-server'] }`). `tickTimeMs` sets the ZooKeeper's tickTime (2000 ms
 * when absent), which bounds the session timeouts it grants to [2, 20] ticks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperBackend } from '../../../src/backend/zookeeper/zookeeper-backend.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../../oracle/zookeeper-server.ts';
import { useEnsemble } from './gateway-test-node.ts';

export type Harness = 'test-node' | 'live-server';

export function overZooKeeper(options: { harnesses?: readonly Harness[]; tickTimeMs?: number } = {}): void {
  const harnesses = options.harnesses ?? ['test-node'];
  let zk: ZooKeeperHandle | undefined;
  beforeAll(async () => {
    zk = await startZooKeeper(options.tickTimeMs === undefined ? {} : { tickTimeMs: options.tickTimeMs });
    useEnsemble(zk.port);
  });
  afterAll(async () => {
    await zk?.stop();
  });

  describe('the gateway harness', () => {
    if (harnesses.includes('live-server')) it('gives the suite\'s live server a gateway over ZooKeeper, not an embedded node', async () => {
      const { LiveServer, harness } = await import('../../session/live-server.ts');
      expect(harness).toBe('gateway');
      const live = await LiveServer.start(100);
      try {
        expect((live as unknown as { backend: unknown }).backend).toBeInstanceOf(ZooKeeperBackend);
        expect((await live.call('GET', '/v1/cluster')).body.role).toBe('gateway');
      } finally {
        await live.closeAll();
      }
    });

    if (harnesses.includes('test-node')) it('gives the suite a gateway over ZooKeeper, not an embedded node', async () => {
      const { startTestNode } = await import('../../support/test-node.ts');
      const node = startTestNode() as unknown as { backend: Promise<unknown>; request(m: string, u: string): Promise<{ status: number; body: any }>; close(): Promise<void> };
      try {
        expect(await node.backend).toBeInstanceOf(ZooKeeperBackend);
        const cluster = await node.request('GET', '/v1/cluster');
        expect(cluster.body.role).toBe('gateway');
      } finally {
        await node.close();
      }
    });
  });
}

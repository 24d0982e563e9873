/**
 * A node's configuration survives restarts: changes in the log are replayed over --members, and
 * once a checkpoint compacted them away, the checkpoint's stored configuration is the base. One
 * voter (it leads alone) with an observer in --members, so it has peer links and commits alone;
 * the members it adds never run (their peer addresses are unreachable ports).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig, parseMembers, type Config } from '../../src/config.ts';
import { CorralNode } from '../../src/node/corral-node.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { freePort, waitFor } from '../support/corral-process.ts';

const deps = { logger: createLogger('silent'), nowMs: () => Date.now() };
let dir: string | undefined;
let node: CorralNode | undefined;

afterEach(async () => {
  await node?.close();
  node = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

let peerPort = 0;

function configIn(dataDir: string): Config {
  return defaultConfig({
    logLevel: 'silent', dataDir, id: 1, raftTickMs: 20, clusterSecret: 'a cluster secret for this test',
    members: parseMembers(`1=127.0.0.1:1/127.0.0.1:${peerPort},2=127.0.0.1:2/127.0.0.1:9/observer`),
  });
}

async function started(config: Config): Promise<CorralNode> {
  const started = new CorralNode(config, deps);
  await started.start();
  await waitFor(() => started.host.status().role === 'leader', { timeoutMs: 5000, what: 'the sole voter to lead' });
  return started;
}

describe('the configuration across restarts', () => {
  it('is replayed from the log, then taken from the checkpoint once the log is compacted', async () => {
    dir = mkdtempSync(join(tmpdir(), 'corral-membership-recovery-'));
    peerPort = await freePort();
    node = await started(configIn(dir));
    const added = await node.membership.add({ id: 3, client: '127.0.0.1:3', peer: '127.0.0.1:9' }, false, 5000);
    expect(added).toMatchObject({ members: { learners: [2, 3] } });
    const removed = await node.membership.remove(2, 5000);
    expect(removed).toMatchObject({ members: { voters: [1], learners: [3] } });
    await node.close();

    node = await started(configIn(dir));
    expect(node.clusterConfig()).toMatchObject({ voters: [1], learners: [3], addresses: { 3: { client: '127.0.0.1:3', peer: '127.0.0.1:9' } } });
    expect(await node.checkpointer.checkpointNow()).toBe(true);
    expect(node.host.status().appliedIndex).toBeGreaterThan(0);
    await node.close();

    // --members still says 2 is an observer and knows nothing of 3: the checkpoint's configuration wins.
    node = await started(configIn(dir));
    expect(node.clusterConfig()).toMatchObject({ voters: [1], learners: [3] });
    expect(node.membership.list().members.map((m) => [m.id, m.role, m.client])).toEqual([[1, 'voter', '127.0.0.1:1'], [3, 'learner', '127.0.0.1:3']]);
  });
});

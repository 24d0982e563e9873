/**
 * A CorralNode whose start fails after it opened its data directory (here: a peer certificate
 * that cannot be read, found once the database is open and the state recovered) lets go of the
 * database and the directory's lock, so a later start in the same process takes the directory
 * instead of being refused as "in use" by the node that never started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig, parseMembers } from '../../src/config.ts';
import { CorralNode } from '../../src/node/corral-node.ts';
import { createLogger } from '../../src/observability/logger.ts';

const deps = { logger: createLogger('silent'), nowMs: () => Date.now() };
let dir: string | undefined;
let node: CorralNode | undefined;

afterEach(async () => {
  await node?.close();
  node = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('CorralNode start failure', () => {
  it('releases the data directory when the constructor fails after recovery, so the next start takes it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'corral-start-failure-'));
    const missing = join(dir, 'missing.pem');
    const failing = defaultConfig({
      logLevel: 'silent', dataDir: dir, id: 1,
      members: parseMembers('1=127.0.0.1:1/127.0.0.1:11,2=127.0.0.1:2/127.0.0.1:12,3=127.0.0.1:3/127.0.0.1:13'),
      peerTlsCert: missing, peerTlsKey: missing, peerTlsCa: missing,
    });
    expect(() => new CorralNode(failing, deps)).toThrow(/--peer-tls-cert .*missing\.pem: ENOENT/);
    // Without the release this is DataDirInUseError: the failed node still held corral.lock.
    node = new CorralNode(defaultConfig({ logLevel: 'silent', dataDir: dir }), deps);
    node.start();
    expect(node.host.tree.size).toBeGreaterThan(0);
  });
});

/**
 * A member's peer certificate (--peer-tls-cert/-key/-ca) reloaded without a restart, as the
 * client listener's is (tls/peer-cert-reloader.ts): on request (what SIGHUP calls) and when the
 * files change on disk; a bad pair, or one naming another member, is logged and the old one
 * kept. What a renewed pair does to the handshakes is test/transport/peer-tls-reload.test.ts;
 * here, that a running node wires it.
 * The node is one member of a two-member cluster whose other member never starts: nothing here
 * needs a quorum.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeDevPki, type DevPki } from '../../scripts/dev-pki.ts';
import { parseMembers } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { freePort, makeTempDir, removeDir, waitFor } from '../support/corral-process.ts';
import { capturedLogger } from '../transport/captured-logger.ts';

let dir: string;
let first: DevPki;
let renewed: DevPki;
beforeAll(() => {
  dir = makeTempDir('corral-peer-cert-reload-');
  first = makeDevPki(join(dir, 'first'), { members: [1, 2] });
  renewed = makeDevPki(join(dir, 'renewed'), { members: [1, 2] });
});
afterAll(() => removeDir(dir));

let server: RunningServer | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await server?.close();
  removeDir(dataDir);
  server = undefined;
  dataDir = undefined;
});

/** Member 1's files, as the operator keeps them: one directory, overwritten on renewal. */
function install(pki: DevPki, into: string, key = pki.members.get(1)!.key, member = 1): void {
  copyFileSync(pki.members.get(member)!.cert, join(into, 'member.pem'));
  copyFileSync(key, join(into, 'member-key.pem'));
  copyFileSync(pki.ca.cert, join(into, 'ca.pem'));
}

async function startMember(logger = capturedLogger()): Promise<{ files: string; logger: ReturnType<typeof capturedLogger> }> {
  dataDir = makeTempDir('corral-peer-cert-reload-data-');
  const files = makeTempDir('corral-peer-cert-files-');
  install(first, files);
  const [client1, peer1, client2, peer2] = [await freePort(), await freePort(), await freePort(), await freePort()];
  server = await startServer({
    dataDir, host: '127.0.0.1', port: client1, id: 1, logger: logger.logger, clusterSecret: '',
    members: parseMembers(`1=127.0.0.1:${client1}/127.0.0.1:${peer1},2=127.0.0.1:${client2}/127.0.0.1:${peer2}`),
    peerTlsCert: join(files, 'member.pem'), peerTlsKey: join(files, 'member-key.pem'), peerTlsCa: join(files, 'ca.pem'),
  });
  return { files, logger };
}

describe('peer certificate reload on a running node', () => {
  it('reloads renewed files on request, says unchanged after, and keeps the old pair when the new key does not match', async () => {
    const { files, logger } = await startMember();
    try {
      expect(server!.reloadPeerTls('test')).toBe('unchanged');
      install(renewed, files);
      expect(server!.reloadPeerTls('test')).toBe('reloaded');
      expect(server!.reloadPeerTls('test')).toBe('unchanged');
      install(first, files, first.members.get(2)!.key);
      expect(server!.reloadPeerTls('test')).toBe('failed');
      expect(logger.events('tls-reload-failed').at(-1)).toMatchObject({ scope: 'peer', reason: 'test' });
    } finally {
      removeDir(files);
    }
  });

  it('refuses a renewed pair that names another member, keeping its own', async () => {
    const { files, logger } = await startMember();
    try {
      install(renewed, files, renewed.members.get(2)!.key, 2);
      expect(server!.reloadPeerTls('test')).toBe('failed');
      expect(logger.events('tls-reload-failed').at(-1)).toMatchObject({ scope: 'peer', err: { message: expect.stringMatching(/names member 2, not this member \(1\)/) } });
      install(renewed, files);
      expect(server!.reloadPeerTls('test')).toBe('reloaded');
    } finally {
      removeDir(files);
    }
  });

  it('reloads by itself when the files change on disk', async () => {
    const { files, logger } = await startMember();
    try {
      install(renewed, files);
      await waitFor(() => logger.events('tls-reloaded').find((line) => line['scope'] === 'peer' && line['reason'] === 'file-changed'), {
        timeoutMs: 10_000, what: 'the peer certificate to reload from its files',
      });
      expect(server!.reloadPeerTls('test')).toBe('unchanged');
    } finally {
      removeDir(files);
    }
  });

  it('says disabled on a node without peer TLS', async () => {
    dataDir = makeTempDir('corral-peer-cert-reload-data-');
    server = await startServer({ dataDir, host: '127.0.0.1', port: 0 });
    expect(server.reloadPeerTls()).toBe('disabled');
  });
});

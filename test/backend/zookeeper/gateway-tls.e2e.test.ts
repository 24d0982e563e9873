/**
 * A gateway in front of a real ZooKeeper 3.8 that takes clients only over TLS (secureClientPort,
 * client certificates required; see tls-zookeeper.ts): zookeeper+tls:// with --zookeeper-tls-ca,
 * -cert and -key carries every connection the gateway makes (its own, a session's, a Basic
 * caller's), and a server whose certificate the CA does not vouch for is refused at start. The
 * gateway serves HTTPS itself with --tls-cert (the node's TLS listener: HTTP/2 with its event
 * streams, HTTP/1.1, client certificates as x509 identities).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDevPki, type DevPki } from '../../../scripts/dev-pki.ts';
import { GatewayStartError, startGateway, type RunningGateway } from '../../../src/backend/zookeeper/gateway-server.ts';
import { ZooKeeperClient } from '../../../src/zookeeper-client/client.ts';
import { makeTempDir, removeDir, waitFor } from '../../support/corral-process.ts';
import { startTlsZooKeeper, type TlsZooKeeper } from './tls-zookeeper.ts';
import { GATEWAY_KEY } from './gateway-test-node.ts';
import { H2Client, h1Request, type ClientTls } from '../../tls/tls-client.ts';
import { fetchJson } from '../../support/fetch-json.ts';

const call = (base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string | object) =>
  fetchJson(method, base + path, { headers, body });

describe('a gateway to a ZooKeeper over TLS', () => {
  let dir: string;
  let pki: DevPki;
  let zk: TlsZooKeeper;
  let gateway: RunningGateway | undefined;
  /** A plain client on the plain port: what the ensemble holds. */
  let plain: ZooKeeperClient;

  beforeAll(async () => {
    dir = makeTempDir('corral-gateway-tls-');
    pki = makeDevPki(`${dir}/pki`, { clients: [{ name: 'gateway', subject: '/O=Example/CN=gateway' }], days: 2 });
    zk = await startTlsZooKeeper(pki);
    const client = await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: zk.port }], sessionTimeoutMs: 10_000 });
    if ('code' in client) throw new Error(client.message);
    plain = client;
  }, 90_000);

  afterAll(async () => {
    await gateway?.close();
    await plain?.close();
    await zk?.stop();
    if (dir) removeDir(dir);
  });

  it('serves the ensemble through its secure port for shared, session and Basic callers\' connections alike', async () => {
    const client = pki.clients.get('gateway')!;
    gateway = await startGateway({
      host: '127.0.0.1', port: 0, backend: `zookeeper+tls://127.0.0.1:${zk.securePort}`, gatewayKey: GATEWAY_KEY,
      zookeeperTlsCa: pki.ca.cert, zookeeperTlsCert: client.cert, zookeeperTlsKey: client.key,
    });
    expect((await call(gateway.url, 'POST', '/v1/znodes/over-tls', {}, 'sealed')).status).toBe(201);
    const held = await plain.getData('/over-tls');
    expect('code' in held ? held : Buffer.from(held.data).toString()).toBe('sealed');

    const opened = await call(gateway.url, 'POST', '/v1/sessions', {}, { timeoutMs: 10_000 });
    expect(opened.status).toBe(201);
    const session = { 'zk-session-id': opened.body.id, 'zk-session-token': opened.body.token };
    expect((await call(gateway.url, 'POST', '/v1/znodes/over-tls/worker?mode=ephemeral', session, '')).status).toBe(201);
    const owner = await plain.exists('/over-tls/worker');
    expect('code' in owner || owner.stat === null ? owner : owner.stat.ephemeralOwner).not.toBe(0n);

    const basic = { authorization: `Basic ${Buffer.from('carol:carol-pw').toString('base64')}` };
    const read = await call(gateway.url, 'GET', '/v1/znodes/over-tls', basic);
    expect(read.status).toBe(200);
    expect(read.body.data).toBe('sealed');
    expect(gateway.backend.callerConnections).toBe(1);
    await call(gateway.url, 'DELETE', `/v1/sessions/${opened.body.id}`, session);
  });

  it('serves HTTPS itself with --tls-cert: HTTP/2 requests and event streams, HTTP/1.1, client certificates as identities', async () => {
    const zkClient = pki.clients.get('gateway')!;
    const https = await startGateway({
      host: '127.0.0.1', port: 0, backend: `zookeeper+tls://127.0.0.1:${zk.securePort}`, gatewayKey: GATEWAY_KEY,
      zookeeperTlsCa: pki.ca.cert, zookeeperTlsCert: zkClient.cert, zookeeperTlsKey: zkClient.key,
      tlsCert: pki.server.cert, tlsKey: pki.server.key, tlsCa: pki.ca.cert, tlsClientAuth: 'optional',
    });
    const h2 = await H2Client.connect(https.url, { ca: pki.ca.cert });
    try {
      expect(https.url.startsWith('https://')).toBe(true);
      expect(h2.alpnProtocol).toBe('h2');
      expect((await h2.request('POST', '/v1/znodes/https-feed', { body: '' })).status).toBe(201);
      const stream = await h2.events('/v1/watch/https-feed?recursive=true');
      expect(stream.status).toBe(200);
      await waitFor(() => (https.backend.changes.subscribers === 1 ? true : undefined), { timeoutMs: 5000, what: 'the subscriber' });
      expect((await h2.request('POST', '/v1/znodes/https-feed/item', { body: 'x' })).status).toBe(201);
      await stream.untilEvents(1, 5000);
      expect(stream.watchEvents()).toEqual(['NodeCreated /https-feed/item']);
      const viaH1 = await h1Request(https.url, { ca: pki.ca.cert }, 'GET', '/v1/znodes/https-feed/item');
      expect(viaH1.body.data).toBe('x');
      // A client certificate is the caller's x509 identity: a session it opens is not usable without it.
      const withCert: ClientTls = { ca: pki.ca.cert, cert: zkClient.cert, key: zkClient.key };
      const opened = await h1Request(https.url, withCert, 'POST', '/v1/sessions', { body: { timeoutMs: 10_000 } });
      expect(opened.status, opened.text).toBe(201);
      const session = { 'zk-session-id': opened.body.id, 'zk-session-token': opened.body.token };
      expect((await h1Request(https.url, withCert, 'POST', '/v1/znodes/https-feed/mine?mode=ephemeral', { headers: session, body: '' })).status).toBe(201);
      const without = await h1Request(https.url, { ca: pki.ca.cert }, 'POST', '/v1/znodes/https-feed/not-mine?mode=ephemeral', { headers: session, body: '' });
      expect(without.status).toBe(403);
      await h1Request(https.url, withCert, 'DELETE', `/v1/sessions/${opened.body.id}`, { headers: session });
    } finally {
      h2.close();
      await https.close();
    }
  });

  it('refuses to start when the secure port\'s certificate is not signed by --zookeeper-tls-ca', async () => {
    const other = makeDevPki(`${dir}/other`, { clients: [{ name: 'gateway', subject: '/CN=gateway' }], days: 2 });
    const client = other.clients.get('gateway')!;
    const started = startGateway({
      host: '127.0.0.1', port: 0, backend: `zookeeper+tls://127.0.0.1:${zk.securePort}`, gatewayKey: GATEWAY_KEY,
      zookeeperTlsCa: other.ca.cert, zookeeperTlsCert: client.cert, zookeeperTlsKey: client.key,
    });
    await expect(started).rejects.toBeInstanceOf(GatewayStartError);
  });
});

// A test PKI and an in-process Corral server speaking TLS on 127.0.0.1 (port 0). The PKI comes from
// scripts/dev-pki.ts: one CA, a server certificate for 127.0.0.1, and client certificates for
// alice and bob (x509:CN=alice,O=Example and x509:CN=bob,O=Example as ZooKeeper names them: the
// subject's RDNs last to first). `stranger` is signed by another CA the server does not trust.
import { makeDevPki, type DevPki } from '../../scripts/dev-pki.ts';
import type { Config } from '../../src/config.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTempDir, removeDir } from '../support/corral-process.ts';
import type { ClientTls } from './tls-client.ts';

export const ALICE = 'x509:CN=alice,O=Example';
export const BOB = 'x509:CN=bob,O=Example';

export interface TestPki {
  readonly pki: DevPki;
  /** Signed by a CA of its own, which the server does not trust. */
  readonly other: DevPki;
  /** Trusts the server; presents no certificate. */
  readonly anonymous: ClientTls;
  readonly alice: ClientTls;
  readonly bob: ClientTls;
  readonly stranger: ClientTls;
  readonly dir: string;
}

export function makeTestPki(): TestPki {
  const dir = makeTempDir('corral-tls-');
  const pki = makeDevPki(`${dir}/pki`, {
    clients: [{ name: 'alice', subject: '/O=Example/CN=alice' }, { name: 'bob', subject: '/O=Example/CN=bob' }],
  });
  const other = makeDevPki(`${dir}/other`, { clients: [{ name: 'stranger', subject: '/O=Example/CN=alice' }] });
  const client = (pair: { cert: string; key: string }): ClientTls => ({ ca: pki.ca.cert, cert: pair.cert, key: pair.key });
  return {
    pki, other, dir,
    anonymous: { ca: pki.ca.cert },
    alice: client(pki.clients.get('alice')!),
    bob: client(pki.clients.get('bob')!),
    stranger: client(other.clients.get('stranger')!),
  };
}

/** The server's TLS options from the test PKI. */
export function tlsConfigOf(pki: DevPki, clientAuth: Config['tlsClientAuth'] = 'none'): Partial<Config> {
  return {
    tlsCert: pki.server.cert, tlsKey: pki.server.key,
    ...(clientAuth === 'none' ? {} : { tlsCa: pki.ca.cert }),
    tlsClientAuth: clientAuth,
  };
}

export interface TlsNode {
  readonly server: RunningServer;
  readonly url: string;
  close(): Promise<void>;
}

export async function startTlsNode(overrides: Partial<Config>): Promise<TlsNode> {
  const dataDir = makeTempDir('corral-tls-data-');
  const server = await startServer({ dataDir, host: '127.0.0.1', port: 0, tickTimeMs: 200, ...overrides });
  return {
    server, url: server.url,
    async close() {
      await server.close();
      removeDir(dataDir);
    },
  };
}

/**
 * HTTPS for clients, from the outside: curl trusting the test CA (`--cacert`), HTTP/2 negotiated
 * by ALPN with HTTP/1.1 as the fallback, the three client-certificate policies, and client
 * certificates as ZooKeeper x509 identities in ACLs — through both carriers (the direct path and
 * the Hono app; `Zk-Min-Zxid` sends a request to the app) and both protocols.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir } from '../support/corral-process.ts';
import { H2Client, h1Request, handshake, type ClientTls } from './tls-client.ts';
import { ALICE, makeTestPki, startTlsNode, tlsConfigOf, type TestPki, type TlsNode } from './tls-fixture.ts';

interface CurlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** curl, bounded (--max-time), never through a proxy. */
function curl(args: readonly string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile('curl', ['--silent', '--show-error', '--max-time', '5', '--noproxy', '*', ...args], { timeout: 10_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as NodeJS.ErrnoException).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const identityArgs = (tls: ClientTls): string[] => [
  '--cacert', String(tls.ca), ...(tls.cert ? ['--cert', tls.cert, '--key', tls.key!] : []),
];

let pki: TestPki;

beforeAll(() => {
  pki = makeTestPki();
});

afterAll(() => {
  removeDir(pki.dir);
});

describe('HTTPS for clients (--tls-cert, --tls-key)', () => {
  let node: TlsNode;

  beforeAll(async () => {
    node = await startTlsNode(tlsConfigOf(pki.pki));
  });

  afterAll(async () => {
    await node.close();
  });

  it('serves an https:// URL', () => {
    expect(node.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves znode create, read, update and delete to curl trusting the CA', async () => {
    const base = ['--cacert', pki.pki.ca.cert, '--write-out', '\n%{http_code}'];
    const created = await curl([...base, '-X', 'POST', '--data-binary', 'v1', `${node.url}/v1/znodes/curl`]);
    expect(created.stdout.split('\n').pop()).toBe('201');
    const read = await curl([...base, `${node.url}/v1/znodes/curl`]);
    expect(JSON.parse(read.stdout.split('\n')[0]!)).toMatchObject({ path: '/curl', data: 'v1' });
    const updated = await curl([...base, '-X', 'PUT', '--data-binary', 'v2', `${node.url}/v1/znodes/curl?version=0`]);
    expect(JSON.parse(updated.stdout.split('\n')[0]!)).toMatchObject({ stat: { version: 1 } });
    const deleted = await curl([...base, '-X', 'DELETE', `${node.url}/v1/znodes/curl`]);
    expect(deleted.stdout.trim()).toBe('204');
  });

  it('speaks HTTP/2 to curl --http2 and HTTP/1.1 to curl --http1.1, on one port', async () => {
    const version = async (flag: string) => (await curl(['--cacert', pki.pki.ca.cert, flag, '--output', '/dev/null', '--write-out', '%{http_version} %{http_code}', `${node.url}/v1/znodes`])).stdout;
    expect(await version('--http2')).toBe('2 200');
    expect(await version('--http1.1')).toBe('1.1 200');
  });

  it('fails curl that does not trust the CA, rather than serving it unverified', async () => {
    const result = await curl([`${node.url}/healthz`]);
    expect(result.code).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
  });

  it('negotiates h2 by ALPN for an HTTP/2 client', async () => {
    const client = await H2Client.connect(node.url, pki.anonymous);
    try {
      expect(client.alpnProtocol).toBe('h2');
      expect((await client.request('GET', '/healthz')).status).toBe(200);
    } finally {
      client.close();
    }
  });

  it('asks for no client certificate: a client presenting one is still anonymous', async () => {
    const created = await h1Request(node.url, pki.anonymous, 'POST', '/v1/znodes/only-alice', {
      headers: { 'zk-acl': JSON.stringify([{ scheme: 'x509', id: 'CN=alice,O=Example', perms: 'cdrwa' }]) },
    });
    expect(created.status).toBe(201);
    expect((await h1Request(node.url, pki.alice, 'GET', '/v1/znodes/only-alice')).status).toBe(403);
  });
});

describe('client certificates (--tls-client-auth)', () => {
  const cases = [
    { policy: 'required', anonymous: 'refused', stranger: 'refused', alice: 'ok' },
    { policy: 'optional', anonymous: 'ok', stranger: 'ok', alice: 'ok' },
  ] as const;

  it.each(cases)('with $policy: no certificate is $anonymous, another CA\'s is $stranger, the CA\'s own is $alice', async ({ policy, anonymous, stranger, alice }) => {
    const node = await startTlsNode(tlsConfigOf(pki.pki, policy));
    try {
      const outcome = async (tls: ClientTls) => ((await handshake(node.url, tls)) === 'ok' ? 'ok' : 'refused');
      expect(await outcome(pki.anonymous)).toBe(anonymous);
      expect(await outcome(pki.stranger)).toBe(stranger);
      expect(await outcome(pki.alice)).toBe(alice);
    } finally {
      await node.close();
    }
  });

  it('with required, curl without a certificate cannot complete the handshake; with alice\'s it can', async () => {
    const node = await startTlsNode(tlsConfigOf(pki.pki, 'required'));
    try {
      const without = await curl(['--cacert', pki.pki.ca.cert, `${node.url}/healthz`]);
      expect(without.code).not.toBe(0);
      expect(without.stdout).toBe('');
      const withCert = await curl([...identityArgs(pki.alice), `${node.url}/healthz`]);
      expect(JSON.parse(withCert.stdout)).toEqual({ status: 'ok' });
    } finally {
      await node.close();
    }
  });
});

describe('x509 identities', () => {
  let node: TlsNode;
  const aliceOnly = JSON.stringify([{ scheme: 'x509', id: 'CN=alice,O=Example', perms: 'cdrwa' }]);

  beforeAll(async () => {
    node = await startTlsNode(tlsConfigOf(pki.pki, 'optional'));
    expect((await h1Request(node.url, pki.anonymous, 'POST', '/v1/znodes/secret', { body: 's3cret' })).status).toBe(201);
    const set = await h1Request(node.url, pki.anonymous, 'PUT', '/v1/acl/secret', { body: aliceOnly, headers: { 'content-type': 'application/json' } });
    expect(set.status).toBe(200);
  });

  afterAll(async () => {
    await node.close();
  });

  const carriers = [
    { carrier: 'the direct path', headers: {} },
    { carrier: 'the Hono app', headers: { 'zk-min-zxid': '0' } },
  ] as const;

  it.each(carriers)('lets alice\'s certificate read a node whose ACL names x509:CN=alice,O=Example, over HTTP/1.1 and HTTP/2 ($carrier)', async ({ headers }) => {
    expect((await h1Request(node.url, pki.alice, 'GET', '/v1/znodes/secret', { headers })).body).toMatchObject({ data: 's3cret' });
    const client = await H2Client.connect(node.url, pki.alice);
    try {
      expect((await client.request('GET', '/v1/znodes/secret', { headers })).body).toMatchObject({ data: 's3cret' });
    } finally {
      client.close();
    }
  });

  it.each(carriers)('refuses bob\'s certificate, no certificate and an untrusted CA\'s certificate with the same subject (403 NOAUTH, $carrier)', async ({ headers }) => {
    for (const who of [pki.bob, pki.anonymous, pki.stranger]) {
      const reply = await h1Request(node.url, who, 'GET', '/v1/znodes/secret', { headers });
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({ code: 'NOAUTH' });
    }
    const client = await H2Client.connect(node.url, pki.bob);
    try {
      expect((await client.request('GET', '/v1/znodes/secret', { headers })).status).toBe(403);
    } finally {
      client.close();
    }
  });

  it('lets curl with alice\'s certificate (--cert, --key) read it, and not bob\'s', async () => {
    const alice = await curl([...identityArgs(pki.alice), '--http2', `${node.url}/v1/znodes/secret`]);
    expect(JSON.parse(alice.stdout)).toMatchObject({ data: 's3cret' });
    const bob = await curl([...identityArgs(pki.bob), `${node.url}/v1/znodes/secret`]);
    expect(JSON.parse(bob.stdout)).toMatchObject({ code: 'NOAUTH' });
  });

  it('expands an `auth` ACL entry to the certificate\'s identity', async () => {
    const created = await h1Request(node.url, pki.alice, 'POST', '/v1/znodes/by-alice', { headers: { 'zk-acl': 'auth::cdrwa' } });
    expect(created.status).toBe(201);
    const acl = await h1Request(node.url, pki.alice, 'GET', '/v1/acl/by-alice');
    expect(JSON.stringify(acl.body)).toContain('"id":"CN=alice,O=Example"');
    expect((await h1Request(node.url, pki.bob, 'GET', '/v1/znodes/by-alice')).status).toBe(403);
  });

  it('keeps the certificate\'s identity beside a Basic credential\'s', async () => {
    const basic = `Basic ${Buffer.from('carol:pw').toString('base64')}`;
    const reply = await h1Request(node.url, pki.alice, 'GET', '/v1/znodes/secret', { headers: { authorization: basic } });
    expect(reply.body).toMatchObject({ data: 's3cret' });
  });

  it(`names alice ${ALICE} in ZooKeeper's form, so an ACL written for ZooKeeper works unchanged`, async () => {
    const acl = await h1Request(node.url, pki.alice, 'GET', '/v1/acl/secret');
    expect(acl.body).toMatchObject({ acl: [{ scheme: 'x509', id: 'CN=alice,O=Example' }] });
  });
});

describe('x509 identities with --auth-required', () => {
  it('accepts a client certificate alone as authentication, and refuses a request with none (401)', async () => {
    const node = await startTlsNode({ ...tlsConfigOf(pki.pki, 'optional'), authRequired: true });
    try {
      for (const headers of [{}, { 'zk-min-zxid': '0' }] as Array<Record<string, string>>) {
        expect((await h1Request(node.url, pki.alice, 'GET', '/v1/znodes', { headers })).status).toBe(200);
        const anonymous = await h1Request(node.url, pki.anonymous, 'GET', '/v1/znodes', { headers });
        expect(anonymous.status).toBe(401);
        expect(anonymous.body).toMatchObject({ code: 'AUTHFAILED' });
        expect((await h1Request(node.url, pki.stranger, 'GET', '/v1/znodes', { headers })).status).toBe(401);
      }
    } finally {
      await node.close();
    }
  });
});

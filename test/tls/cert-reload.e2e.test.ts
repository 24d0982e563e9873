/**
 * Certificates renewed without a restart: reloadTls() (what SIGHUP does), and the files changing
 * on disk. New connections get the new certificate; an open HTTP/2 event stream keeps flowing; a
 * bad new pair is logged and the old one kept. The `corral` process itself reloads on SIGHUP
 * (and is not killed by it, as it would be by default).
 *
 * Two CAs: the server starts with the first one's certificate and is rotated to the second's;
 * the clients trust both, so each connection's certificate tells which one it was served.
 */
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { CorralProcess, freePort, makeTempDir, removeDir, waitFor } from '../support/corral-process.ts';
import { H2Client, h1Request, servedCertificate, type ClientTls } from './tls-client.ts';
import { makeTestPki, startTlsNode, type TestPki, type TlsNode } from './tls-fixture.ts';

let pki: TestPki;
let serving: { cert: string; key: string };
let trustBoth: ClientTls;
let first: X509Certificate;
let second: X509Certificate;

const fingerprintOf = (path: string) => new X509Certificate(readFileSync(path)).fingerprint256;

/** Replaces a file the way renewal tools do: write beside it, rename over it. */
function replace(target: string, source: string | Buffer): void {
  const temp = `${target}.new`;
  if (typeof source === 'string') copyFileSync(source, temp);
  else writeFileSync(temp, source);
  renameSync(temp, target);
}

function serve(pair: { cert: string; key: string }): void {
  replace(serving.key, pair.key);
  replace(serving.cert, pair.cert);
}

beforeAll(() => {
  pki = makeTestPki();
  const dir = join(pki.dir, 'serving');
  mkdirSync(dir);
  serving = { cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') };
  serve(pki.pki.server);
  trustBoth = { ca: [pki.pki.ca.cert, pki.other.ca.cert] };
  first = new X509Certificate(readFileSync(pki.pki.server.cert));
  second = new X509Certificate(readFileSync(pki.other.server.cert));
});

afterAll(() => {
  removeDir(pki.dir);
});

describe('certificate reload', () => {
  let node: TlsNode;
  let client: H2Client | undefined;
  const logLines: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    node = await startTlsNode({ tlsCert: serving.cert, tlsKey: serving.key, logger: pino({ level: 'info' }, sink) } as never);
  });

  afterEach(() => {
    client?.close();
    client = undefined;
  });

  afterAll(async () => {
    await node.close();
  });

  it('serves the new certificate to new connections after reloadTls, while an open event stream keeps flowing', async () => {
    serve(pki.pki.server);
    node.server.reloadTls('test');
    expect((await servedCertificate(node.url, trustBoth)).fingerprint256).toBe(first.fingerprint256);
    client = await H2Client.connect(node.url, trustBoth);
    const stream = await client.events('/v1/watch/rotating?recursive=true');
    expect(stream.status).toBe(200);

    serve(pki.other.server);
    expect(node.server.reloadTls('test')).toBe('reloaded');
    const served = await servedCertificate(node.url, trustBoth);
    expect(served.fingerprint256).toBe(second.fingerprint256);
    expect(served.serialNumber).toBe(second.serialNumber);

    // The connection opened before the reload: still usable, and its stream still delivers.
    expect((await client.request('POST', '/v1/znodes/rotating', { body: 'x' })).status).toBe(201);
    await stream.untilEvents(1);
    expect(stream.watchEvents()).toEqual(['NodeCreated /rotating']);
    expect(logLines.some((l) => l.includes('"event":"tls-reloaded"') && l.includes(second.serialNumber))).toBe(true);
  });

  it('does nothing when the files did not change', () => {
    expect(node.server.reloadTls('test')).toBe('unchanged');
  });

  it('reloads by itself when the files change on disk', async () => {
    serve(pki.other.server);
    node.server.reloadTls('test');
    serve(pki.pki.server);
    const served = await waitFor(async () => {
      const cert = await servedCertificate(node.url, trustBoth);
      return cert.fingerprint256 === first.fingerprint256 && cert;
    }, { timeoutMs: 5000, what: 'the first certificate to be served again' });
    expect(served.serialNumber).toBe(first.serialNumber);
  });

  it('keeps serving the old certificate when the new key does not match it, and logs why', async () => {
    serve(pki.pki.server);
    node.server.reloadTls('test');
    logLines.length = 0;
    replace(serving.cert, pki.other.server.cert); // the second CA's certificate with the first's key
    expect(node.server.reloadTls('test')).toBe('failed');
    expect((await servedCertificate(node.url, trustBoth)).fingerprint256).toBe(first.fingerprint256);
    expect(logLines.some((l) => l.includes('"event":"tls-reload-failed"'))).toBe(true);
    replace(serving.cert, Buffer.from('-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n'));
    expect(node.server.reloadTls('test')).toBe('failed');
    expect((await h1Request(node.url, trustBoth, 'GET', '/healthz')).status).toBe(200);
    serve(pki.pki.server);
  });
});

describe('the corral process on SIGHUP', () => {
  let proc: CorralProcess | undefined;
  let dataDir: string | undefined;

  afterAll(async () => {
    await proc?.kill();
    removeDir(dataDir);
  });

  it('reloads the certificate and keeps running', async () => {
    serve(pki.pki.server);
    dataDir = makeTempDir('corral-tls-sighup-');
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    proc = new CorralProcess(dataDir, port, ['--tls-cert', serving.cert, '--tls-key', serving.key]);
    await waitFor(async () => proc!.running && (await h1Request(url, trustBoth, 'GET', '/healthz')).status === 200, { timeoutMs: 20_000, what: 'corral over TLS' });
    serve(pki.other.server);
    proc.signal('SIGHUP');
    const served = await waitFor(async () => {
      const cert = await servedCertificate(url, trustBoth);
      return cert.fingerprint256 === second.fingerprint256 && cert;
    }, { timeoutMs: 5000, what: 'the new certificate' });
    expect(served.fingerprint256).toBe(fingerprintOf(pki.other.server.cert));
    expect(proc.running).toBe(true);
    proc.signal('SIGHUP');
    expect((await h1Request(url, trustBoth, 'GET', '/healthz')).status).toBe(200);
    expect(proc.running).toBe(true);
  });
});

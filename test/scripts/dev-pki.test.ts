/** The development PKI that TLS tests and `npm run dev-certs` use: a chain openssl and Node accept. */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDevPki, memberUri } from '../../scripts/dev-pki.ts';

describe('makeDevPki', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corral-pki-'));
  const pki = makeDevPki(dir, { members: [1, 2], clients: [{ name: 'alice', subject: '/CN=alice/O=Example' }] });
  const load = (path: string) => new X509Certificate(readFileSync(path));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('signs every certificate with its CA', () => {
    const ca = load(pki.ca.cert);
    expect(ca.ca).toBe(true);
    const leaves = [pki.server.cert, ...[...pki.members.values()].map((m) => m.cert), pki.clients.get('alice')!.cert];
    for (const path of leaves) {
      const cert = load(path);
      expect(cert.checkIssued(ca)).toBe(true);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.ca).toBe(false);
    }
  });

  it('names the loopback host and addresses in the server certificate', () => {
    const server = load(pki.server.cert);
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('binds each member certificate to its id by a URI SAN', () => {
    expect(load(pki.members.get(2)!.cert).subjectAltName).toContain(`URI:${memberUri(2)}`);
    expect(load(pki.members.get(1)!.cert).subjectAltName).not.toContain(memberUri(2));
  });

  it('gives a client certificate the subject asked for', () => {
    expect(load(pki.clients.get('alice')!.cert).subject).toBe('CN=alice\nO=Example');
  });

  it('writes private keys readable by the owner only', () => {
    for (const path of [pki.ca.key, pki.server.key, pki.members.get(1)!.key, pki.clients.get('alice')!.key]) {
      expect(statSync(path).mode & 0o077).toBe(0);
    }
  });
});

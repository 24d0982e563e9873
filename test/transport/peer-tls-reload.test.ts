/**
 * A member's peer certificate renewed without a restart (PeerTls.setSecureContext, what the
 * certificate reloader calls): every handshake after it, accepted or dialed, uses the new pair
 * and CA; a pair that does not form a context is refused and the old one stays in use.
 * Scenario: a CA rotation. Member 2 already runs on the new CA only; member 1 still holds a
 * certificate of the old CA, so no handshake between them succeeds until member 1 takes its
 * renewed certificate.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeDevPki, type DevPki } from '../../scripts/dev-pki.ts';
import { memberIdOf, PeerTls, type TlsAccepted } from '../../src/transport/peer-tls.ts';
import { makeTempDir, removeDir } from '../support/corral-process.ts';

const HANDSHAKE_MS = 5000;
let dir: string;
let oldPki: DevPki;
let newPki: DevPki;

beforeAll(() => {
  dir = makeTempDir('corral-peer-tls-reload-');
  oldPki = makeDevPki(`${dir}/old`, { members: [1] });
  newPki = makeDevPki(`${dir}/new`, { members: [1, 2] });
});
afterAll(() => removeDir(dir));

const pairOf = (pki: DevPki, id: number, trust: DevPki = pki) => ({
  cert: readFileSync(pki.members.get(id)!.cert), key: readFileSync(pki.members.get(id)!.key), ca: readFileSync(trust.ca.cert),
});

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A listener that runs `tls`'s accept on every socket and records how each handshake ended. */
async function listen(tls: PeerTls): Promise<{ port: number; accepted: Array<number | string> }> {
  const accepted: Array<number | string> = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    tls.accept(socket, HANDSHAKE_MS, (outcome: TlsAccepted) => {
      if (outcome.ok) sockets.push(outcome.socket);
      accepted.push(outcome.ok ? (memberIdOf(outcome.socket.getPeerCertificate()) ?? 'no id') : outcome.reason);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, accepted };
}

/** Dials member `peerId` with `tls`: 'connected', or the error's code. */
function dial(tls: PeerTls, port: number, peerId: number): Promise<string> {
  const socket = tls.dial('127.0.0.1', port, peerId);
  sockets.push(socket);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), HANDSHAKE_MS);
    socket.once('secureConnect', () => (clearTimeout(timer), resolve('connected')));
    socket.once('error', (error: NodeJS.ErrnoException) => (clearTimeout(timer), resolve(error.code ?? error.message)));
  });
}

describe('PeerTls.setSecureContext', () => {
  it('serves the renewed certificate and trusts the renewed CA on the next accepted handshake', async () => {
    const member1 = new PeerTls({ ...pairOf(oldPki, 1), ca: Buffer.concat([readFileSync(oldPki.ca.cert), readFileSync(newPki.ca.cert)]) });
    const member2 = new PeerTls(pairOf(newPki, 2));
    const { port, accepted } = await listen(member1);
    expect(await dial(member2, port, 1)).not.toBe('connected');
    member1.setSecureContext(pairOf(newPki, 1));
    expect(await dial(member2, port, 1)).toBe('connected');
    await expect.poll(() => accepted.at(-1), { timeout: HANDSHAKE_MS }).toBe(2);
  });

  it('dials with the renewed certificate once it is set', async () => {
    const member1 = new PeerTls(pairOf(oldPki, 1, newPki));
    const member2 = new PeerTls(pairOf(newPki, 2));
    const { port, accepted } = await listen(member2);
    await dial(member1, port, 2);
    await expect.poll(() => accepted.length, { timeout: HANDSHAKE_MS }).toBe(1);
    expect(accepted[0]).toBe('tls'); // member 2 refused a client certificate from the old CA
    member1.setSecureContext(pairOf(newPki, 1));
    expect(await dial(member1, port, 2)).toBe('connected');
    await expect.poll(() => accepted.at(-1), { timeout: HANDSHAKE_MS }).toBe(1);
  });

  it('refuses a key that does not match its certificate and keeps the pair in use', async () => {
    const member1 = new PeerTls(pairOf(newPki, 1));
    const member2 = new PeerTls(pairOf(newPki, 2));
    const { port } = await listen(member1);
    expect(() => member1.setSecureContext({ ...pairOf(newPki, 1), key: readFileSync(newPki.members.get(2)!.key) })).toThrow();
    expect(await dial(member2, port, 1)).toBe('connected');
  });
});

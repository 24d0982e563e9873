/**
 * Mutual TLS between members: certificates from the cluster's CA, each naming its member's id in
 * SAN URI:urn:corral:member:<id> (scripts/dev-pki.ts). No cluster secret here: TLS alone.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeDevPki, type DevPki } from '../../scripts/dev-pki.ts';
import type { PeerTlsOptions } from '../../src/transport/peer-transport.ts';
import { makeTempDir, removeDir, freePort, waitFor } from '../support/corral-process.ts';
import { HOST, Pool } from './harness.ts';
import { createZnode, localData, MemberCluster } from './member-cluster.ts';

let dir: string;
let pki: DevPki;
let otherPki: DevPki;

beforeAll(() => {
  dir = makeTempDir('corral-peer-tls-');
  pki = makeDevPki(`${dir}/ca`, { members: [1, 2, 3] });
  otherPki = makeDevPki(`${dir}/other-ca`, { members: [3] });
});
afterAll(() => removeDir(dir));

const pool = new Pool();
const sockets: Socket[] = [];
let cluster: MemberCluster | undefined;
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await pool.closeAll();
  await cluster?.close();
  cluster = undefined;
});

/** Member `id`'s certificate and key from `from`, trusting `trust`'s CA. */
function tlsOf(id: number, from: DevPki = pki, trust: DevPki = from): PeerTlsOptions {
  const pair = from.members.get(id)!;
  return { cert: readFileSync(pair.cert), key: readFileSync(pair.key), ca: readFileSync(trust.ca.cert) };
}

/** Member 1 (expecting members 2 and 3) and a dialer claiming id `claimed` with `tls`. */
async function listenerAndDialer(claimed: number, tls: PeerTlsOptions) {
  const [port1, portDialer] = [await freePort(), await freePort()];
  const listener = await pool.member(1, port1, [{ id: 2, host: HOST, port: portDialer }, { id: 3, host: HOST, port: portDialer }],
    { secret: '', tls: tlsOf(1) });
  const dialer = await pool.member(claimed, portDialer, [{ id: 1, host: HOST, port: port1 }], { secret: '', tls });
  return { listener, dialer };
}

describe('peer links over mutual TLS', () => {
  it('forms a 3-member cluster with --peer-tls-* and no secret, and replicates', { timeout: 60_000 }, async () => {
    cluster = await MemberCluster.create({
      size: 3,
      configOf: (id) => ({ clusterSecret: '', peerTlsCert: pki.members.get(id)!.cert, peerTlsKey: pki.members.get(id)!.key, peerTlsCa: pki.ca.cert }),
    });
    await cluster.startAll();
    const leader = await cluster.leader();
    expect(await createZnode(cluster.url(leader), '/over-tls', 'v')).toBe(201);
    for (const id of [1, 2, 3]) {
      await waitFor(async () => (await localData(cluster!.url(id), '/over-tls')) === 'v', { timeoutMs: 10_000, what: `the write on member ${id}` });
    }
  });

  it('carries messages between members whose certificates name them', async () => {
    const { listener, dialer } = await listenerAndDialer(2, tlsOf(2));
    await waitFor(() => dialer.transport.isConnected(1), { timeoutMs: 5000, what: 'the TLS link' });
    dialer.transport.send(1, { hello: 'over TLS' });
    await waitFor(() => listener.inbox.length === 1, { timeoutMs: 2000 });
    expect(listener.inbox[0]).toEqual({ from: 2, message: { hello: 'over TLS' } });
  });

  it('refuses a member presenting member 2\'s certificate while claiming id 3', async () => {
    const { listener, dialer } = await listenerAndDialer(3, tlsOf(2));
    await waitFor(() => listener.transport.stats().refusedHandshakes['wrong-identity'] > 0, { timeoutMs: 5000, what: 'the refusal' });
    expect(dialer.transport.isConnected(1)).toBe(false);
    expect(listener.transport.stats().peers[3]!.authFailures).toBeGreaterThan(0);
    // And member 1, dialing "member 3", refuses the listener whose certificate names member 2.
    await waitFor(() => listener.transport.stats().peers[3]!.authFailures > 1 && !listener.transport.isConnected(3),
      { timeoutMs: 5000, what: 'member 1 to refuse the impostor it dialed' });
    expect(listener.inbox).toEqual([]);
  });

  it('refuses a certificate from another CA', async () => {
    const { listener, dialer } = await listenerAndDialer(3, tlsOf(3, otherPki, pki));
    await waitFor(() => listener.transport.stats().refusedHandshakes.tls > 0, { timeoutMs: 5000, what: 'the TLS refusal' });
    expect(dialer.transport.isConnected(1)).toBe(false);
    expect(listener.inbox).toEqual([]);
  });

  it('refuses a plain TCP connection, and a member that dials without TLS', async () => {
    const [port1, port2] = [await freePort(), await freePort()];
    const listener = await pool.member(1, port1, [{ id: 2, host: HOST, port: port2 }], { secret: '', tls: tlsOf(1) });
    const plain = connect(port1, HOST);
    sockets.push(plain);
    plain.on('error', () => plain.destroy());
    plain.resume();
    plain.write('\u0000\u0000\u0000\u0010{"type":"hello"}');
    await waitFor(() => plain.destroyed || plain.readableEnded, { timeoutMs: 5000, what: 'the plain socket to be closed' });
    const plainMember = await pool.member(2, port2, [{ id: 1, host: HOST, port: port1 }], { secret: 'a shared cluster secret for tests' });
    // The plain member waits for a challenge the TLS listener never sends, so its attempt ends when
    // either side's handshake timer fires first: a refusal as 'tls' (the dialer hung up) or 'timeout'.
    const refusals = (): number => { const r = listener.transport.stats().refusedHandshakes; return r.tls + r.timeout; };
    await waitFor(() => refusals() >= 2, { timeoutMs: 10_000, what: 'both refusals' });
    expect(plainMember.transport.isConnected(1)).toBe(false);
    expect(listener.inbox).toEqual([]);
  });
});

/**
 * The operators' rule (src/http/operator-only.ts) for POST /v1/cluster/leader and GET
 * /v1/sessions: the superuser where there is one; no one where identities are checked without
 * one; on an open node, callers on loopback or of the admin listener, or anyone once the operator
 * opted in with --open-operator-routes. Checked on the pure rule, in-process (a request without a
 * socket has no loopback address) and over real sockets on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Caller } from '../../src/backend/backend.ts';
import { defaultConfig, type Config } from '../../src/config.ts';
import { SUPER_IDENTITY } from '../../src/core/acl/check.ts';
import { isLoopbackAddress, operatorRefusal } from '../../src/http/operator-only.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTempDir, removeDir } from '../support/corral-process.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';

const callerAt = (address: string, identities: string[] = []): Caller => ({ identities, address, auth: [...identities, `ip:${address}`] });
const ACT = 'move leadership';

describe('operatorRefusal', () => {
  const cases: ReadonlyArray<readonly [string, boolean, Partial<Config>, Caller]> = [
    ['an open node, a caller on 127.0.0.1', true, {}, callerAt('127.0.0.1')],
    ['an open node, a caller on 127.3.4.5', true, {}, callerAt('127.3.4.5')],
    ['an open node, a caller on ::1', true, {}, callerAt('::1')],
    ['an open node, a caller on 10.0.0.7', false, {}, callerAt('10.0.0.7')],
    ['an open node, a caller on 2001:db8::1', false, {}, callerAt('2001:db8::1')],
    ['an open node, a caller named 127.0.0.1.evil (not an address)', false, {}, callerAt('127.0.0.1.evil')],
    ['an open node, a caller of unknown address (no socket)', false, {}, callerAt('unknown')],
    ['an open node with --admin-listen (served there only), a caller on 10.0.0.7', true, { adminListen: '10.0.0.1:9100' }, callerAt('10.0.0.7')],
    ['an open node with --open-operator-routes, a caller on 10.0.0.7', true, { openOperatorRoutes: true }, callerAt('10.0.0.7')],
    ['a node with a superuser, the superuser on 10.0.0.7', true, { superDigest: 'super:x' }, callerAt('10.0.0.7', [SUPER_IDENTITY])],
    ['a node with a superuser, an anonymous caller on loopback', false, { superDigest: 'super:x' }, callerAt('127.0.0.1')],
    ['a node with a superuser and --open-operator-routes, an anonymous caller', false, { superDigest: 'super:x', openOperatorRoutes: true }, callerAt('10.0.0.7')],
    ['a node with --auth-required and no superuser, a caller on loopback', false, { authRequired: true }, callerAt('127.0.0.1', ['digest:bob:h'])],
    ['a node with --auth-required, no superuser and --open-operator-routes', false, { authRequired: true, openOperatorRoutes: true }, callerAt('10.0.0.7', ['digest:bob:h'])],
  ];

  it.each(cases)('on %s: lets the caller through = %s', (_what, allowed, overrides, caller) => {
    const refusal = operatorRefusal(defaultConfig(overrides), caller, ACT);
    if (allowed) expect(refusal).toBeUndefined();
    else expect(refusal).toMatchObject({ code: 'NOAUTH' });
  });

  it('says how to open the routes when it refuses a remote caller on an open node', () => {
    expect(operatorRefusal(defaultConfig(), callerAt('10.0.0.7'), ACT)?.message).toMatch(/only a caller on loopback may move leadership .*--admin-listen.*--open-operator-routes/);
  });

  it.each([['127.0.0.1', true], ['127.255.255.254', true], ['::1', true], ['128.0.0.1', false], ['::ffff:127.0.0.1', false], ['', false]] as const)(
    'isLoopbackAddress(%j) is %s (addresses as the authenticator normalises them)',
    (address, loopback) => expect(isLoopbackAddress(address)).toBe(loopback),
  );
});

describe('operator routes on an open node, in-process (no socket, so not loopback)', () => {
  let node: TestNode | undefined;
  afterEach(async () => {
    await node?.close();
    node = undefined;
  });

  it('refuses leadership transfer and the sessions listing with 403 NOAUTH by default', async () => {
    node = startTestNode({ authRequired: false });
    const transfer = await node.request('POST', '/v1/cluster/leader', { body: {} });
    expect(transfer.status).toBe(403);
    expect(transfer.body).toMatchObject({ code: 'NOAUTH', message: expect.stringMatching(/only a caller on loopback may move leadership/) });
    const listing = await node.request('GET', '/v1/sessions');
    expect(listing.status).toBe(403);
    expect(listing.body).toMatchObject({ code: 'NOAUTH', message: expect.stringMatching(/only a caller on loopback may list sessions/) });
  });

  it('serves them to anyone once the operator opted in with --open-operator-routes', async () => {
    node = startTestNode({ authRequired: false, openOperatorRoutes: true });
    const transfer = await node.request('POST', '/v1/cluster/leader', { body: {} });
    expect(transfer.status).toBe(400); // the route ran: a single voter has no one to hand over to
    const listing = await node.request('GET', '/v1/sessions');
    expect(listing.status).toBe(200);
  });
});

describe('operator routes on an open node, over sockets on 127.0.0.1', () => {
  let server: RunningServer | undefined;
  let dataDir: string | undefined;
  afterEach(async () => {
    await server?.close();
    removeDir(dataDir);
    server = undefined;
    dataDir = undefined;
  });

  it('serves a caller on loopback without any opt-in', async () => {
    dataDir = makeTempDir('corral-operator-loopback-');
    server = await startServer({ dataDir, host: '127.0.0.1', port: 0 });
    const listing = await fetch(`${server.url}/v1/sessions`, { signal: AbortSignal.timeout(5000) });
    expect(listing.status).toBe(200);
    expect(await listing.json()).toMatchObject({ sessions: [] });
    const transfer = await fetch(`${server.url}/v1/cluster/leader`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });
    expect(transfer.status).toBe(400);
    expect(await transfer.json()).toMatchObject({ code: 'BADARGUMENTS', message: expect.stringMatching(/one voter/) });
  });
});

// Specification of who a request is, over a real socket: HTTP Basic as ZooKeeper's digest identity,
// bearer JWTs verified against the node's JWKS file, the superuser, --auth-required, sessions
// that remember their opener's identities, session-less watch streams that deliver only what the
// caller may READ, the audit log, and quotas enforced over HTTP. Each server starts on a fresh data dir and closes after its
// test; every wait is bounded.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server.ts';
import { makeTempDir, removeDir, waitFor } from '../support/corral-process.ts';
import { SseStream } from './sse-reader.ts';
import { fetchJson } from '../support/fetch-json.ts';

const WAIT_MS = 5000;
const digest = (user: string, password: string) => `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const BOB = basic('bob', 'secret');
const ALICE = basic('alice', 'secret');
const SUPER = basic('super', 'test');

let server: RunningServer | undefined;
const dirs: string[] = [];
const streams: AbortController[] = [];

async function start(options: ServerOptions = {}): Promise<string> {
  const dataDir = makeTempDir('corral-identities-');
  dirs.push(dataDir);
  server = await startServer({ dataDir, port: 0, host: '127.0.0.1', superDigest: digest('super', 'test'), ...options });
  return server.url;
}

afterEach(async () => {
  for (const controller of streams.splice(0)) controller.abort();
  await server?.close();
  server = undefined;
  for (const dir of dirs.splice(0)) removeDir(dir);
});

interface Answer { status: number; headers: Headers; body: any }

const call = (method: string, url: string, options: { headers?: Record<string, string>; body?: string | object } = {}): Promise<Answer> =>
  fetchJson(method, url, { ...options, timeoutMs: WAIT_MS });

function openStream(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const controller = new AbortController();
  streams.push(controller);
  return SseStream.open(url, { headers, controller });
}

describe('HTTP Basic', () => {
  it("is ZooKeeper's digest identity: an auth ACL written by bob is digest:bob:base64(sha1('bob:secret'))", async () => {
    const base = await start();
    expect((await call('POST', `${base}/v1/znodes/mine`, { headers: { ...BOB, 'zk-acl': 'auth::cdrwa' } })).status).toBe(201);
    const acl = await call('GET', `${base}/v1/acl/mine`, { headers: BOB });
    expect(acl.body.acl).toEqual([{ perms: 'cdrwa', scheme: 'digest', id: digest('bob', 'secret') }]);
    expect((await call('GET', `${base}/v1/znodes/mine`)).body.code).toBe('NOAUTH');
    expect((await call('GET', `${base}/v1/znodes/mine`, { headers: ALICE })).status).toBe(403);
    expect((await call('GET', `${base}/v1/znodes/mine`, { headers: BOB })).status).toBe(200);
  });

  it('fails with 401 AUTHFAILED and a challenge when malformed, on the direct path and the app alike', async () => {
    const base = await start();
    for (const path of ['/v1/znodes/x', '/v1/cluster']) {
      const answer = await call('GET', `${base}${path}`, { headers: { authorization: 'Basic !!!' } });
      expect(answer.status).toBe(401);
      expect(answer.body.code).toBe('AUTHFAILED');
      expect(answer.headers.get('www-authenticate')).toContain('Basic');
    }
  });

  it('fails with 401 for an authorization scheme the node does not take, and for a bearer token without --jwt-jwks', async () => {
    const base = await start();
    expect((await call('GET', `${base}/v1/znodes/`, { headers: { authorization: 'Negotiate abc' } })).status).toBe(401);
    expect((await call('GET', `${base}/v1/znodes/`, { headers: { authorization: 'Bearer abc.def.ghi' } })).status).toBe(401);
  });
});

describe('the superuser (--super-digest)', () => {
  it('passes every ACL, /zookeeper/config\'s included', async () => {
    const base = await start();
    await call('POST', `${base}/v1/znodes/locked`, { headers: { ...BOB, 'zk-acl': 'auth::cdrwa' } });
    expect((await call('GET', `${base}/v1/znodes/locked`, { headers: SUPER })).status).toBe(200);
    expect((await call('PUT', `${base}/v1/acl/locked`, { headers: SUPER, body: 'world:anyone:r' })).status).toBe(200);
    expect((await call('PUT', `${base}/v1/znodes/zookeeper/config`, { body: 'x' })).body.code).toBe('NOAUTH');
    expect((await call('PUT', `${base}/v1/znodes/zookeeper/config`, { headers: SUPER, body: 'x' })).status).toBe(200);
  });
});

describe('bearer JWTs', () => {
  async function withJwks(): Promise<{ base: string; sign: (claims: Record<string, unknown>, options?: { expiresIn?: string; key?: CryptoKey }) => Promise<string>; otherKey: CryptoKey }> {
    const keys = await generateKeyPair('ES256');
    const other = await generateKeyPair('ES256');
    const dir = makeTempDir('corral-jwks-');
    dirs.push(dir);
    const jwks = join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256' }] }));
    const base = await start({ jwtJwks: jwks, jwtIssuer: 'https://sso.test', jwtAudience: 'corral', jwtGroupsClaim: 'groups' });
    const sign = (claims: Record<string, unknown>, options: { expiresIn?: string; key?: CryptoKey } = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('https://sso.test').setAudience('corral')
        .setIssuedAt().setExpirationTime(options.expiresIn ?? '5m').sign(options.key ?? keys.privateKey);
    return { base, sign, otherKey: other.privateKey };
  }

  it('act as jwt:<sub>, and as jwt-group:<name> for each group of the configured claim', async () => {
    const { base, sign } = await withJwks();
    const alice = { authorization: `Bearer ${await sign({ sub: 'alice', groups: ['ops'] })}` };
    const carol = { authorization: `Bearer ${await sign({ sub: 'carol', groups: ['ops'] })}` };
    const dave = { authorization: `Bearer ${await sign({ sub: 'dave', groups: ['dev'] })}` };
    expect((await call('POST', `${base}/v1/znodes/team`, { headers: { ...alice, 'zk-acl': 'auth::cdrwa,jwt-group:ops:r' } })).status).toBe(201);
    expect((await call('GET', `${base}/v1/acl/team`, { headers: alice })).body.acl).toEqual([
      { perms: 'cdrwa', scheme: 'jwt', id: 'alice' }, { perms: 'r', scheme: 'jwt-group', id: 'ops' },
    ]);
    expect((await call('GET', `${base}/v1/znodes/team`, { headers: carol })).status).toBe(200);
    expect((await call('PUT', `${base}/v1/znodes/team`, { headers: carol, body: 'x' })).status).toBe(403);
    expect((await call('GET', `${base}/v1/znodes/team`, { headers: dave })).status).toBe(403);
  });

  it('fail with 401 AUTHFAILED, never anonymous, when expired, signed by another key, or garbage', async () => {
    const { base, sign, otherKey } = await withJwks();
    const tokens = [
      await sign({ sub: 'alice' }, { expiresIn: '-10m' }),
      await sign({ sub: 'alice' }, { key: otherKey }),
      'not.a.token',
    ];
    for (const token of tokens) {
      const answer = await call('GET', `${base}/v1/znodes/`, { headers: { authorization: `Bearer ${token}` } });
      expect(answer.status).toBe(401);
      expect(answer.body.code).toBe('AUTHFAILED');
    }
  });
});

describe('a session', () => {
  async function openSession(base: string, headers: Record<string, string>): Promise<Record<string, string>> {
    const opened = await call('POST', `${base}/v1/sessions`, { headers, body: { timeoutMs: 10_000 } });
    expect(opened.status).toBe(201);
    return { 'zk-session-id': opened.body.id, 'zk-session-token': opened.body.token };
  }

  it('acts only for requests carrying the identities it was opened with: its token alone is not enough (403 NOAUTH)', async () => {
    const base = await start();
    const session = await openSession(base, BOB);
    const create = (headers: Record<string, string>) => call('POST', `${base}/v1/znodes/e?mode=ephemeral`, { headers: { ...session, ...headers } });
    expect((await create({})).body.code).toBe('NOAUTH');
    expect((await create(ALICE)).body.code).toBe('NOAUTH');
    expect((await create(BOB)).status).toBe(201);
    expect((await call('POST', `${base}/v1/sessions/${session['zk-session-id']}/keepalive`, { headers: session })).status).toBe(403);
  });

  it('opened anonymously acts for any request with its token, as before identities existed', async () => {
    const base = await start();
    const session = await openSession(base, {});
    expect((await call('POST', `${base}/v1/znodes/e?mode=ephemeral`, { headers: session })).status).toBe(201);
  });

  it('has its event stream opened by its token alone (EventSource cannot send credentials)', async () => {
    const base = await start({ authRequired: true });
    const session = await openSession(base, BOB);
    const stream = await openStream(`${base}/v1/sessions/${session['zk-session-id']}/events?token=${encodeURIComponent(session['zk-session-token']!)}`);
    expect(stream.status).toBe(200);
  });
});

describe('--auth-required', () => {
  it('refuses requests that prove no identity (401), but not the probes nor the pages that hold no data', async () => {
    const base = await start({ authRequired: true });
    for (const path of ['/v1/znodes/', '/v1/cluster', '/metrics']) {
      const answer = await call('GET', `${base}${path}`);
      expect(answer.status, path).toBe(401);
      expect(answer.headers.get('www-authenticate')).toContain('Basic');
    }
    expect((await call('GET', `${base}/healthz`)).status).toBe(200);
    expect((await call('GET', `${base}/readyz`)).status).toBe(200);
    for (const path of ['/openapi.yaml', '/docs', '/ui']) expect((await call('GET', `${base}${path}`)).status, path).not.toBe(401);
    expect((await call('GET', `${base}/v1/znodes/`, { headers: BOB })).status).toBe(200);
    expect((await call('POST', `${base}/v1/znodes/a`, { headers: BOB, body: 'x' })).status).toBe(201);
  });

  it('lets /metrics answer without credentials when the operator says so (--metrics-without-auth)', async () => {
    const base = await start({ authRequired: true, metricsWithoutAuth: true });
    expect((await call('GET', `${base}/metrics`)).status).toBe(200);
    expect((await call('GET', `${base}/v1/znodes/`)).status).toBe(401);
  });
});

describe('the session-less watch stream', () => {
  it('delivers an event only to callers who may READ its node at the change, resumes included', async () => {
    const base = await start();
    const anonymous = await openStream(`${base}/v1/watch/?recursive=true`);
    const bob = await openStream(`${base}/v1/watch/?recursive=true`, BOB);
    await call('POST', `${base}/v1/znodes/secret`, { headers: { ...BOB, 'zk-acl': 'auth::cdrwa' } });
    await call('POST', `${base}/v1/znodes/open`, { body: 'x' });
    await bob.until(() => bob.watchEvents().includes('NodeCreated /open'), WAIT_MS, 'bob sees /open');
    await anonymous.until(() => anonymous.watchEvents().includes('NodeCreated /open'), WAIT_MS, 'anonymous sees /open');
    expect(bob.watchEvents()).toEqual(['NodeCreated /secret', 'NodeCreated /open']);
    expect(anonymous.watchEvents()).toEqual(['NodeCreated /open']);
    // A resume replays the history with the same rule: the ACL each node had then.
    const replayed = await openStream(`${base}/v1/watch/?recursive=true&fromZxid=0`);
    await replayed.until(() => replayed.watchEvents().includes('NodeCreated /open'), WAIT_MS, 'the replay reaches /open');
    expect(replayed.watchEvents()).toEqual(['NodeCreated /open']);
  });
});

describe('the audit log (--audit-log)', () => {
  it('records each write and ACL change with who asked and the result, in ZooKeeper\'s fields', async () => {
    const dir = makeTempDir('corral-audit-');
    dirs.push(dir);
    const file = join(dir, 'audit.log');
    const base = await start({ auditLog: file });
    const created = await call('POST', `${base}/v1/znodes/a`, { headers: { ...BOB, 'zk-acl': 'auth::cdrwa' } });
    expect(created.status).toBe(201);
    const createZxid = created.headers.get('zk-zxid');
    expect(createZxid).toMatch(/^\d+$/);
    await call('PUT', `${base}/v1/znodes/a`, { body: 'x' });
    await call('PUT', `${base}/v1/acl/a`, { headers: BOB, body: 'world:anyone:r' });
    const lines = await waitFor(() => {
      let text = '';
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        return undefined;
      }
      const parsed = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      return parsed.length >= 3 ? parsed : undefined;
    }, { timeoutMs: WAIT_MS, what: 'three audit lines' });
    expect(lines.map((l) => [l.operation, l.znode, l.user, l.result, l.code])).toEqual([
      ['create', '/a', 'bob,127.0.0.1', 'success', undefined],
      ['setData', '/a', '127.0.0.1', 'failure', 'NOAUTH'],
      ['setAcl', '/a', 'bob,127.0.0.1', 'success', undefined],
    ]);
    expect(lines[0]!.identities).toEqual([`digest:${digest('bob', 'secret')}`, 'ip:127.0.0.1']);
    // The create's line names the zxid its answer carried.
    expect(lines[0]!.zxid).toBe(createZxid);
    expect(lines[2]!.acl).toBe('world:anyone:r');
  });
});

describe('quotas (--enforce-quota)', () => {
  /** What `zkCli setquota -N 2 /q` leaves: the quota dirs, the limits as StatsTrack writes them, then the stats. */
  const SETQUOTA_N_2 = [
    { op: 'create', path: '/zookeeper/quota/q' },
    { op: 'create', path: '/zookeeper/quota/q/zookeeper_limits', data: 'count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2' },
    { op: 'create', path: '/zookeeper/quota/q/zookeeper_stats', data: 'count=0,bytes=0' },
  ];

  it('refuses a create past a count hard limit with 403 QUOTAEXCEEDED (zkCode -125), creating nothing', async () => {
    const base = await start({ enforceQuota: true });
    expect((await call('POST', `${base}/v1/znodes/q`)).status).toBe(201);
    const quota = await call('POST', `${base}/v1/multi`, { body: { ops: SETQUOTA_N_2 } });
    expect(quota.status, JSON.stringify(quota.body)).toBe(200);
    // The stats count /q itself (recomputed when the stats node is created): one more node fits.
    expect((await call('GET', `${base}/v1/znodes/zookeeper/quota/q/zookeeper_stats`)).body.data).toBe('count=1,bytes=0');
    expect((await call('POST', `${base}/v1/znodes/q/a`)).status).toBe(201);

    const refused = await call('POST', `${base}/v1/znodes/q/b`);
    expect(refused.status, JSON.stringify(refused.body)).toBe(403);
    expect(refused.body).toMatchObject({ code: 'QUOTAEXCEEDED', zkCode: -125, path: '/q/b' });
    expect((await call('GET', `${base}/v1/children/q`)).body.children).toEqual(['a']);
    expect((await call('GET', `${base}/v1/znodes/zookeeper/quota/q/zookeeper_stats`)).body.data).toBe('count=2,bytes=0');
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/auth/digest.ts';
import { authenticateMiddleware } from '../../src/http/caller.ts';
import { adminBackupHandlers } from '../../src/http/routes/admin-backup.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { appDepsOf } from '../../src/server.ts';
import { readBackupFile } from '../../src/storage/backup-reader.ts';
import { adminListenerNodes } from '../support/admin-listener.ts';
import { waitFor } from '../support/corral-process.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';

const SUPER = { authorization: `Basic ${Buffer.from('super:test').toString('base64')}` };
const BOB = { authorization: `Basic ${Buffer.from('bob:secret').toString('base64')}` };

describe('GET /v1/admin/backup', () => {
  let node: TestNode | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await node?.close();
    node = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const withSuperuser = () => (node = startTestNode({ superDigest: digestOf('super', 'test') }));

  it('refuses a caller who is not the superuser with 403 NOAUTH', async () => {
    withSuperuser();
    for (const headers of [BOB, {}]) {
      const reply = await node!.request('GET', '/v1/admin/backup', { headers });
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({ code: 'NOAUTH', message: expect.stringMatching(/only the superuser may take a backup/) });
    }
  });

  it('refuses everyone with 403 NOAUTH on a node without a superuser, saying why', async () => {
    node = startTestNode();
    const reply = await node.request('GET', '/v1/admin/backup', { headers: SUPER });
    expect(reply.status).toBe(403);
    expect(reply.body.message).toMatch(/this node has no superuser \(--super-digest\)/);
  });

  it('streams the superuser a backup of every znode, whatever its ACL, at the zxid it names', async () => {
    withSuperuser();
    expect((await node!.request('POST', '/v1/znodes/open', { body: 'a' })).status).toBe(201);
    const closed = await node!.request('POST', '/v1/znodes/closed', { body: 'secret', headers: { ...BOB, 'zk-acl': 'auth::cdrwa' } });
    expect(closed.status).toBe(201);
    const reply = await node!.request('GET', '/v1/admin/backup', { headers: SUPER });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/vnd.corral.backup');
    const zxid = Number(reply.headers.get('zk-backup-zxid'));
    expect(reply.headers.get('content-disposition')).toBe(`attachment; filename="corral-${zxid}.backup"`);
    dir = mkdtempSync(join(tmpdir(), 'corral-backup-route-'));
    writeFileSync(join(dir, 'b'), reply.bytes);
    const paths: string[] = [];
    const header = readBackupFile(join(dir, 'b'), { nodes: (page) => paths.push(...page.map((n) => n.path)) });
    expect(header.zxid).toBe(zxid);
    expect(zxid).toBeGreaterThanOrEqual(Number(closed.headers.get('zk-zxid')));
    expect(paths).toEqual(expect.arrayContaining(['/', '/open', '/closed']));
    expect(header.nodeCount).toBe(node!.node.host.tree.size);
  });

  it('streams one backup at a time (429 THROTTLEDOP meanwhile) and takes the next once the first reader is gone', async () => {
    withSuperuser();
    const first = await node!.app.request('/v1/admin/backup', { headers: SUPER });
    expect(first.status).toBe(200);
    const second = await node!.request('GET', '/v1/admin/backup', { headers: SUPER });
    expect(second.status).toBe(429);
    expect(second.body).toMatchObject({ code: 'THROTTLEDOP' });
    await first.body!.cancel();
    const third = await node!.request('GET', '/v1/admin/backup', { headers: SUPER });
    expect(third.status).toBe(200);
  });

  it('cuts off a reader that takes nothing for the stall bound, and frees its slot', async () => {
    withSuperuser();
    const deps = appDepsOf(node!.node, createLogger('silent'), Date.now);
    const app = new Hono();
    app.use('*', authenticateMiddleware(deps));
    app.get('/backup', adminBackupHandlers(deps, 200).backup);
    const stalled = await app.request('/backup', { headers: SUPER });
    expect(stalled.status).toBe(200);
    expect((await app.request('/backup', { headers: SUPER })).status).toBe(429);
    const next = await waitFor(async () => {
      const reply = await app.request('/backup', { headers: SUPER });
      if (reply.status === 200) return reply;
      await reply.body?.cancel();
      return undefined;
    }, { timeoutMs: 10_000, what: 'the stalled backup to be cut off' });
    await expect(stalled.arrayBuffer()).rejects.toThrow(/took nothing for 200 ms/);
    await next.body!.cancel();
  });

  it('answers HEAD without taking a backup', async () => {
    withSuperuser();
    const head = await node!.app.request('/v1/admin/backup', { method: 'HEAD', headers: SUPER });
    expect(head.status).toBe(200);
    expect(head.headers.get('zk-backup-zxid')).toBeNull();
    expect((await node!.request('GET', '/v1/admin/backup', { headers: SUPER })).status).toBe(200);
  });
});

describe('GET /v1/admin/backup with --admin-listen', () => {
  const nodes = adminListenerNodes('corral-admin-backup-');

  it('answers 404 on the public listener and streams the superuser a backup on the admin one', async () => {
    const node = await nodes.start({ superDigest: digestOf('super', 'test') });
    const onPublic = await node.onPublic('/v1/admin/backup', { headers: SUPER });
    expect(onPublic.status).toBe(404);
    expect(await onPublic.json()).toMatchObject({ code: 'UNIMPLEMENTED' });
    const refused = await node.onAdmin('/v1/admin/backup', { headers: BOB });
    expect(refused.status).toBe(403);
    await refused.body?.cancel();
    const onAdmin = await node.onAdmin('/v1/admin/backup', { headers: SUPER });
    expect(onAdmin.status).toBe(200);
    expect(onAdmin.headers.get('content-type')).toBe('application/vnd.corral.backup');
    expect((await onAdmin.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });
});

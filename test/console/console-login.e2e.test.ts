/**
 * The console on a locked-down node (--auth-required) with an admin listener, in Chromium: the
 * page loads without credentials but the tree says AUTHFAILED until the user logs in with Basic;
 * then the tree and the live stream work with that identity, the ACL of a node is shown and
 * edited (`auth::cdrwa` becomes the user's digest entry), and the cluster view says it is served
 * on the admin listener instead of failing.
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTempDir, removeDir } from '../support/corral-process.ts';
import { CHROMIUM, launchChromium, openPage, screenshot } from './browser.ts';
import { ensureConsoleBuilt } from './console-bundle.ts';

const BASIC = `Basic ${Buffer.from('alice:secret').toString('base64')}`;

describe('the console on a node with --auth-required and --admin-listen', () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}: bash .ci/install-chromium.sh`).toBe(true);
    await ensureConsoleBuilt();
    dir = makeTempDir('corral-console-login-');
    server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, adminListen: '127.0.0.1:0', authRequired: true, logLevel: 'silent' });
    const created = await fetch(`${server.url}/v1/znodes/app`, { method: 'POST', headers: { Authorization: BASIC }, body: 'x' });
    expect(created.status).toBe(201);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    removeDir(dir);
  });

  it('asks for a login, then browses, edits an ACL and shows where the cluster view lives', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui#/app`);
    await expect.poll(() => page.getByTestId('node-error').textContent()).toContain('AUTHFAILED');

    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByLabel('User').fill('alice');
    await page.getByLabel('Password').fill('secret');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByTestId('logged-in').textContent()).toBe('digest: alice');
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: 10_000 }).toBe('live');
    await page.getByRole('button', { name: 'Reload', exact: true }).first().click();
    await expect.poll(() => page.getByTestId('data-text').inputValue()).toBe('x');

    await page.getByRole('tab', { name: 'ACL' }).click();
    await expect.poll(() => page.getByTestId('acl-table').textContent()).toContain('anyone');
    await page.getByLabel(/^ACL entries/).fill('auth::cdrwa');
    await page.getByRole('button', { name: 'Save ACL' }).click();
    await expect.poll(() => page.getByTestId('acl-table').textContent()).toContain('alice:');
    const acl = await (await fetch(`${server.url}/v1/acl/app`, { headers: { Authorization: BASIC } })).json() as { acl: Array<{ scheme: string; id: string }> };
    expect(acl.acl.map((e) => e.scheme)).toEqual(['digest']);
    expect(acl.acl[0]!.id).toMatch(/^alice:/);
    await screenshot(page, 'acl');

    await page.getByRole('tab', { name: 'Cluster' }).click();
    await page.getByTestId('cluster-admin').waitFor();
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);
});

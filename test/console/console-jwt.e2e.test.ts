/**
 * Logging in to the console with a bearer JWT, in Chromium, on a node that requires credentials
 * and verifies tokens against a JWKS file (--auth-required, --jwt-jwks/-issuer/-audience): before
 * the log-in the open node says AUTHFAILED; with a token the node's keys signed the console acts
 * as `jwt:<sub>` (the node re-read at once, the live stream open, writes accepted, the ACL showing
 * the token's identity); a token signed by another key is refused (AUTHFAILED), and a valid token
 * of someone else gets NOAUTH on a node only the first may read. Keys and tokens are made with
 * jose, as test/auth/jwt.test.ts does.
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTempDir, removeDir } from '../support/corral-process.ts';
import { CHROMIUM, launchChromium, openPage, screenshot } from './browser.ts';
import { ensureConsoleBuilt } from './console-bundle.ts';

const ISSUER = 'https://idp.example';
const AUDIENCE = 'corral';
const WAIT_MS = 10_000;

function token(sub: string, key: CryptoKey, kid: string): Promise<string> {
  return new SignJWT({ sub }).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('1h').sign(key);
}

describe('the console logged in with a bearer JWT (--auth-required, --jwt-jwks)', () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;
  let alice: string;
  let bob: string;
  let forged: string;

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}: bash .ci/install-chromium.sh`).toBe(true);
    await ensureConsoleBuilt();
    dir = makeTempDir('corral-console-jwt-');
    const idp = await generateKeyPair('RS256');
    const stranger = await generateKeyPair('RS256');
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(idp.publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' }] }));
    alice = await token('alice', idp.privateKey, 'idp-1');
    bob = await token('bob', idp.privateKey, 'idp-1');
    forged = await token('alice', stranger.privateKey, 'idp-1'); // right kid and claims, wrong key
    server = await startServer({
      dataDir: join(dir, 'data'), host: '127.0.0.1', port: 0, authRequired: true, logLevel: 'silent',
      jwtJwks: jwksFile, jwtIssuer: ISSUER, jwtAudience: AUDIENCE,
    });
    // Only alice may do anything with /app: its ACL is `auth::cdrwa` as her token creates it.
    const created = await fetch(`${server.url}/v1/znodes/app`, { method: 'POST', headers: { Authorization: `Bearer ${alice}`, 'Zk-Acl': 'auth::cdrwa' }, body: 'x' });
    expect(created.status).toBe(201);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    removeDir(dir);
  });

  async function logInWithToken(page: Page, jwt: string): Promise<void> {
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByLabel('Scheme').selectOption('bearer');
    await page.getByLabel('Token').fill(jwt);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  it('acts as jwt:alice after a log-in with her token: reads, streams live, saves, and shows her identity in the ACL', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui#/app`);
    await expect.poll(() => page.getByTestId('node-error').textContent(), { timeout: WAIT_MS }).toContain('AUTHFAILED');

    await logInWithToken(page, alice);
    await expect.poll(() => page.getByTestId('logged-in').textContent(), { timeout: WAIT_MS }).toBe('jwt: alice');
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: WAIT_MS }).toBe('live');
    // The open node is read again as alice, without a Reload.
    await expect.poll(() => page.getByTestId('data-text').inputValue(), { timeout: WAIT_MS }).toBe('x');
    expect(await page.getByTestId('node-error').count()).toBe(0);
    expect(await page.content()).not.toContain(alice); // the token is sent, never rendered

    await page.getByTestId('data-text').fill('written with a JWT');
    await page.getByRole('button', { name: 'Save (version 0)' }).click();
    const stored = async () => ((await (await fetch(`${server.url}/v1/znodes/app`, { headers: { Authorization: `Bearer ${alice}` }, signal: AbortSignal.timeout(WAIT_MS) })).json()) as { data: string }).data;
    await expect.poll(stored, { timeout: WAIT_MS }).toBe('written with a JWT');
    await page.getByRole('button', { name: 'Save (version 1)' }).waitFor({ timeout: WAIT_MS }); // re-read after the save

    await page.getByRole('tab', { name: 'ACL' }).click();
    const acl = page.getByTestId('acl-table');
    await expect.poll(() => acl.textContent(), { timeout: WAIT_MS }).toContain('jwt');
    expect(await acl.textContent()).toContain('alice');
    expect(await page.getByRole('button', { name: 'Log out' }).isVisible()).toBe(true);
    await screenshot(page, 'login-jwt');

    // Listing every session is the superuser's, and this node has none: the panel says so with the node's reason.
    await page.getByRole('tab', { name: 'Sessions' }).click();
    await expect.poll(() => page.getByTestId('sessions-refused').textContent(), { timeout: WAIT_MS }).toContain('NOAUTH (403)');
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it('is refused with AUTHFAILED for a token another key signed, and NOAUTH for a valid token of someone else', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui#/app`);
    await expect.poll(() => page.getByTestId('node-error').textContent(), { timeout: WAIT_MS }).toContain('AUTHFAILED');

    await logInWithToken(page, forged);
    await expect.poll(() => page.getByTestId('logged-in').textContent(), { timeout: WAIT_MS }).toBe('jwt: alice'); // the console cannot tell…
    await expect.poll(() => page.getByTestId('node-error').textContent(), { timeout: WAIT_MS }).toContain('AUTHFAILED'); // …the node can
    expect(await page.getByTestId('data-text').count()).toBe(0);

    await page.getByRole('button', { name: 'Log out' }).click();
    await logInWithToken(page, bob);
    await expect.poll(() => page.getByTestId('logged-in').textContent(), { timeout: WAIT_MS }).toBe('jwt: bob');
    await expect.poll(() => page.getByTestId('node-error').textContent(), { timeout: WAIT_MS }).toContain('NOAUTH');
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: WAIT_MS }).toBe('live');
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);
});

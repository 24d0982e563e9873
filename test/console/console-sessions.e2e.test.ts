/**
 * The Sessions panel pages GET /v1/sessions, in Chromium: with more live sessions than a page
 * (`?limit=`, the panel's "Per page"), it shows the first page sorted by id and a "Next page"
 * control; the next page (`?after=<last id>`) holds the rest and no "Next page"; "Previous page"
 * goes back. Every session appears on exactly one page.
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.ts';
import { http, makeTempDir, removeDir } from '../support/corral-process.ts';
import { CHROMIUM, launchChromium, openPage, screenshot } from './browser.ts';
import { ensureConsoleBuilt } from './console-bundle.ts';

const WAIT_MS = 10_000;
const PAGE_SIZE = 20;
const SESSIONS = 27;

describe('the Sessions panel, with more sessions than a page', () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;
  let ids: string[];

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}: bash .ci/install-chromium.sh`).toBe(true);
    await ensureConsoleBuilt();
    dir = makeTempDir('corral-console-sessions-');
    server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent' });
    ids = [];
    for (let i = 0; i < SESSIONS; i++) {
      const opened = await http('POST', `${server.url}/v1/sessions`, { timeoutMs: 60_000 });
      expect(opened.status).toBe(201);
      ids.push(opened.body.id as string);
    }
    ids.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    removeDir(dir);
  });

  const listed = (page: Page) => page.getByRole('list', { name: 'Live sessions' }).locator(':scope > li').evaluateAll((items) => items.map((i) => i.getAttribute('data-session')));

  it('shows a page of sessions with "Next page" while more follow, the rest on the next page, and goes back', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${server.url}/ui#/`);
    await page.getByRole('tab', { name: 'Sessions' }).click();
    // The node's default page (100) holds them all.
    await expect.poll(() => listed(page), { timeout: WAIT_MS }).toEqual(ids);
    expect(await page.getByRole('button', { name: 'Next page' }).count()).toBe(0);

    await page.getByLabel('Per page').selectOption(String(PAGE_SIZE));
    await expect.poll(() => listed(page), { timeout: WAIT_MS }).toEqual(ids.slice(0, PAGE_SIZE));
    await expect.poll(() => page.getByTestId('sessions-page').textContent(), { timeout: WAIT_MS }).toContain(`Page 1: ${PAGE_SIZE} live sessions, more follow`);
    const next = page.getByRole('button', { name: 'Next page' });
    expect(await next.isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Previous page' }).count()).toBe(0);
    await screenshot(page, 'sessions-first-page');

    await next.click();
    await expect.poll(() => listed(page), { timeout: WAIT_MS }).toEqual(ids.slice(PAGE_SIZE));
    await expect.poll(() => page.getByTestId('sessions-page').textContent(), { timeout: WAIT_MS }).toContain(`Page 2: ${SESSIONS - PAGE_SIZE} live sessions`);
    expect(await page.getByTestId('sessions-page').textContent()).not.toContain('more follow');
    expect(await page.getByRole('button', { name: 'Next page' }).count()).toBe(0);
    await screenshot(page, 'sessions-next-page');

    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(() => listed(page), { timeout: WAIT_MS }).toEqual(ids.slice(0, PAGE_SIZE));
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);
});

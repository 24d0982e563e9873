/**
 * The console's create form in every mode, in Chromium: it offers exactly the modes of
 * openapi.yaml's CreateMode, and each one does what the spec says it does — sequential modes
 * append the 10-digit counter, ephemeral ones belong to the console's session, a TTL node is
 * removed once unchanged for its TTL (and the tree drops it live), a container once its last
 * child is gone. The node reaps every REAP_MS so the removals happen within the test's bounds.
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packageFile } from '../../src/package-root.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { http, makeTempDir, removeDir } from '../support/corral-process.ts';
import { CHROMIUM, launchChromium, openPage, screenshot, type WatchedPage } from './browser.ts';
import { ensureConsoleBuilt } from './console-bundle.ts';

const WAIT_MS = 15_000;
const REAP_MS = 100;
/** Long enough that the node is surely still there when read right after its create. */
const TTL_MS = 5000;

describe('the console\'s create form, every mode', () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;
  let watched: WatchedPage;
  let page: Page;

  const get = (path: string) => http('GET', `${server.url}/v1/znodes${path}`);
  const openPath = () => page.getByTestId('node-path').textContent();

  /** Opens `parent` afresh and fills the create form; `fill` sets the mode-specific fields. */
  async function create(parent: string, name: string, mode: string, fill?: () => Promise<void>): Promise<string> {
    await page.goto('about:blank');
    await page.goto(`${server.url}/ui#${parent}`);
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: WAIT_MS }).toBe('live');
    await expect.poll(openPath, { timeout: WAIT_MS }).toBe(parent);
    await page.getByRole('tab', { name: 'Create child' }).click();
    await page.getByLabel('Mode').selectOption(mode);
    await page.getByLabel(/^Name/).fill(name);
    await fill?.();
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(openPath, { timeout: WAIT_MS }).not.toBe(parent);
    return (await openPath())!;
  }

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}: bash .ci/install-chromium.sh`).toBe(true);
    await ensureConsoleBuilt();
    dir = makeTempDir('corral-console-modes-');
    server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, reapIntervalMs: REAP_MS, logLevel: 'silent' });
    expect((await http('POST', `${server.url}/v1/znodes/app`, '')).status).toBe(201);
    browser = await launchChromium();
    watched = await openPage(browser);
    page = watched.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    removeDir(dir);
  });

  it('offers exactly the create modes openapi.yaml lists', async () => {
    const spec = parse(readFileSync(packageFile('openapi.yaml'), 'utf8')) as { components: { schemas: { CreateMode: { enum: string[] } } } };
    await page.goto(`${server.url}/ui#/app`);
    await page.getByRole('tab', { name: 'Create child' }).click();
    const offered = await page.getByLabel('Mode').locator('option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
    expect([...offered].sort()).toEqual([...spec.components.schemas.CreateMode.enum].sort());
  }, 60_000);

  it('appends the counter in the sequential modes, and gives an ephemeral_sequential node to the console\'s session', async () => {
    const named = await create('/app', 'job-', 'persistent_sequential');
    expect(named).toMatch(/^\/app\/job-\d{10}$/);
    expect((await get(named)).body.stat.ephemeralOwner).toBe('0');

    const bare = await create('/app', '', 'persistent_sequential'); // the name may be left out: the counter alone
    expect(bare).toMatch(/^\/app\/\d{10}$/);
    expect((await get(bare)).status).toBe(200);

    const ephemeral = await create('/app', 'member-', 'ephemeral_sequential');
    expect(ephemeral).toMatch(/^\/app\/member-\d{10}$/);
    const owner = (await get(ephemeral)).body.stat.ephemeralOwner as string;
    expect(owner).not.toBe('0');
    await page.getByRole('tab', { name: 'Sessions' }).click();
    await expect.poll(() => page.locator(`[data-session="${owner}"]`).getByRole('heading').textContent(), { timeout: WAIT_MS }).toBe(`Session ${owner} (this console)`);
    expect(watched.problems).toEqual([]);
  }, 90_000);

  it('creates TTL nodes the node removes once unchanged for their TTL, and the tree drops them live', async () => {
    const kept = await create('/app', 'kept', 'persistent', async () => {
      expect(await page.getByLabel('TTL (ms)').count()).toBe(0); // asked only in the TTL modes
    });
    const setTtl = async () => page.getByLabel('TTL (ms)').fill(String(TTL_MS));
    const leased = await create('/app', 'lease-', 'persistent_sequential_with_ttl', setTtl);
    expect(leased).toMatch(/^\/app\/lease-\d{10}$/);
    expect((await get(leased)).status).toBe(200);
    const shortLived = await create('/app', 'short-lived', 'persistent_with_ttl', setTtl);
    expect(shortLived).toBe('/app/short-lived');
    expect((await get(shortLived)).status).toBe(200);
    const item = (path: string) => page.locator(`[data-path="${path}"]`);
    await item(shortLived).waitFor({ timeout: WAIT_MS });
    await screenshot(page, 'create-ttl');

    // Removed by the node, not the console: the tree follows the stream's NodeDeleted.
    await expect.poll(() => item(shortLived).count(), { timeout: TTL_MS + WAIT_MS }).toBe(0);
    await expect.poll(async () => (await get(leased)).status, { timeout: TTL_MS + WAIT_MS }).toBe(404);
    await expect.poll(() => page.getByTestId('event-log').textContent(), { timeout: WAIT_MS }).toContain(`NodeDeleted ${shortLived}`);
    expect((await get(shortLived)).status).toBe(404);
    expect((await get(kept)).status).toBe(200); // same age, no TTL: still there
    expect(watched.problems).toEqual([]);
  }, 90_000);

  it('creates a container the node removes once its last child is deleted', async () => {
    const box = await create('/app', 'box', 'container');
    expect(box).toBe('/app/box');
    const inside = await create(box, 'item', 'persistent');
    expect(inside).toBe('/app/box/item');
    expect((await get(box)).status).toBe(200);

    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect.poll(openPath, { timeout: WAIT_MS }).toBe(box);
    await expect.poll(async () => (await get(box)).status, { timeout: WAIT_MS }).toBe(404);
    await expect.poll(() => page.locator(`[data-path="${box}"]`).count(), { timeout: WAIT_MS }).toBe(0);
    await expect.poll(() => page.getByTestId('event-log').textContent(), { timeout: WAIT_MS }).toContain(`NodeDeleted ${box}`);
    expect(watched.problems).toEqual([]);
  }, 90_000);
});

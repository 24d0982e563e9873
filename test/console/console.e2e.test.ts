/**
 * The web console in a real Chromium against a real node process: browse the tree (child counts,
 * lazy children, JSON shown pretty, binary data as hex or base64), the panes laid out for a phone,
 * a tablet and a wide screen, create, edit with a version check (a write by another client
 * between load and save is a BADVERSION on screen, never overwritten), delete and delete
 * recursively with a confirmation; another client's writes appear live; the console keeps working
 * across a restart of the node on the same data dir. Screenshots of the main views are saved under
 * test-results/console/ after the elements they show were asserted in the live DOM. Every page
 * must run without an uncaught error or a Content-Security-Policy refusal, and every request the
 * console makes must be an operation of openapi.yaml (it has no road around the public API).
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packageFile } from '../../src/package-root.ts';
import { CorralProcess, freePort, http, makeTempDir, removeDir, waitFor } from '../support/corral-process.ts';
import { CHROMIUM, launchChromium, openPage, screenshot, SCREENSHOTS_DIR, type WatchedPage } from './browser.ts';
import { ensureConsoleBuilt } from './console-bundle.ts';

const LIVE_MS = 10_000;
const TEST_MS = 90_000;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** openapi.yaml's operations as `METHOD` and a pattern of the path (`{path}` may hold slashes). */
function specOperations(): Array<{ method: string; path: string; pattern: RegExp }> {
  const spec = parse(readFileSync(packageFile('openapi.yaml'), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(spec.paths).flatMap(([path, item]) => {
    const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{path\}/g, '.+').replace(/\{\w+\}/g, '[^/]+');
    const pattern = new RegExp(`^${source}$`);
    return Object.keys(item).filter((key) => METHODS.includes(key)).map((method) => ({ method: method.toUpperCase(), path, pattern }));
  });
}

describe('the web console, one node', () => {
  let dir: string;
  let port: number;
  let node: CorralProcess;
  let base: string;
  let browser: Browser;
  let watched: WatchedPage;
  let page: Page;
  /** Every request the main page sent to the node, as `METHOD /path` (query left off). */
  const requested = new Set<string>();

  const put = (path: string, body: string) => http('PUT', `${base}/v1/znodes${path}`, body);
  const post = (path: string, body = '') => http('POST', `${base}/v1/znodes${path}`, body);
  const get = (path: string) => http('GET', `${base}/v1/znodes${path}`);
  /** A fresh load of the console on `path` (a new document: no state kept from the last test). */
  const open = async (path: string) => {
    await page.goto('about:blank');
    await page.goto(`${base}/ui#${path}`);
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: LIVE_MS }).toBe('live');
    await expect.poll(() => page.getByTestId('node-path').textContent()).toBe(path);
  };
  const dataText = () => page.getByTestId('data-text').inputValue();

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}: bash .ci/install-chromium.sh`).toBe(true);
    await ensureConsoleBuilt();
    dir = makeTempDir('corral-console-');
    port = await freePort();
    node = new CorralProcess(dir, port);
    await node.waitHealthy(60_000);
    base = node.url;
    expect((await post('/app')).status).toBe(201);
    expect((await post('/app/config', '{"feature":true,"limit":5}')).status).toBe(201);
    expect((await post('/app/jobs')).status).toBe(201);
    browser = await launchChromium();
    watched = await openPage(browser);
    page = watched.page;
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === base) requested.add(`${request.method()} ${url.pathname}`);
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await node?.kill();
    removeDir(dir);
  });

  it('shows the tree with child counts, lazily, and a node\'s JSON pretty with its Stat', async () => {
    await open('/app/config');
    const app = page.locator('[data-path="/app"]');
    await app.waitFor();
    await expect.poll(() => app.locator('xpath=following-sibling::span[@class="count"]').textContent()).toBe('2');
    expect(await page.locator('[data-path="/app/config"]').count()).toBe(0); // not listed until /app is expanded
    await page.getByRole('button', { name: 'Expand /app' }).click();
    await page.locator('[data-path="/app/config"]').waitFor();
    await page.locator('[data-path="/app/jobs"]').waitFor();
    expect(await dataText()).toBe('{\n  "feature": true,\n  "limit": 5\n}');
    expect(await page.getByRole('radio', { name: 'json' }).isChecked()).toBe(true);
    await screenshot(page, 'tree-and-data');

    await page.getByRole('tab', { name: 'Stat' }).click();
    const table = page.getByTestId('stat-table');
    await expect.poll(() => table.locator('[data-field="version"]').textContent()).toBe('0');
    expect(await table.locator('[data-field="dataLength"]').textContent()).toBe('26');
    await screenshot(page, 'stat');
    expect(watched.problems).toEqual([]);
  }, TEST_MS);

  it('finds a node by path from the search box', async () => {
    await open('/');
    await page.getByLabel('Go to path').fill('/app/jobs');
    await page.getByRole('button', { name: 'Go', exact: true }).click();
    await expect.poll(() => page.getByTestId('node-path').textContent()).toBe('/app/jobs');
    await page.locator('[data-path="/app/jobs"]').waitFor();
  }, TEST_MS);

  it.each([
    ['a phone', 390, 844, [['Znode tree'], ['Open znode'], ['Node status']], 'narrow'],
    ['a tablet', 900, 1000, [['Znode tree', 'Open znode'], ['Node status']], 'tablet'],
    ['a wide screen', 2560, 1440, [['Znode tree', 'Open znode', 'Node status']], 'wide'],
  ] as const)('stays usable at %s\'s width (%i px): the panes arranged to fit, nothing wider than the screen', async (_what, width, height, rows, shot) => {
    const sized = await openPage(browser, width, height);
    await sized.page.goto(`${base}/ui#/app/config`);
    await sized.page.locator('[data-path="/app"]').waitFor();
    await expect.poll(() => sized.page.getByTestId('data-text').inputValue()).toContain('"feature"');
    const panes = [['navigation', 'Znode tree'], ['region', 'Open znode'], ['complementary', 'Node status']] as const;
    const placed: Array<{ name: string; x: number; y: number }> = [];
    for (const [role, name] of panes) {
      const pane = sized.page.getByRole(role, { name });
      expect(await pane.isVisible(), name).toBe(true);
      const box = (await pane.boundingBox())!;
      placed.push({ name, x: Math.round(box.x), y: Math.round(box.y) });
    }
    // Panes sharing a top edge are one row, read left to right.
    const tops = [...new Set(placed.map((p) => p.y))].sort((a, b) => a - b);
    const arranged = tops.map((top) => placed.filter((p) => p.y === top).sort((a, b) => a.x - b.x).map((p) => p.name));
    expect(arranged).toEqual(rows);
    const overflow = await sized.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(sized.page, shot);
    expect(sized.problems).toEqual([]);
    await sized.page.close();
  }, TEST_MS);

  it('shows binary data as hex (base64 on request), refuses to show it as text, and saves bytes typed in hex', async () => {
    expect((await http('POST', `${base}/v1/znodes/app/blob`, Uint8Array.of(0x00, 0xff, 0x01, 0xc3))).status).toBe(201);
    await open('/app/blob');
    await expect.poll(dataText).toBe('00 ff 01 c3');
    expect(await page.getByRole('radio', { name: 'hex' }).isChecked()).toBe(true);
    await page.getByRole('radio', { name: 'base64' }).check();
    await expect.poll(dataText).toBe('AP8Bww==');
    await page.getByRole('radio', { name: 'text' }).check();
    const editor = page.getByRole('form', { name: 'Data of /app/blob' });
    await expect.poll(() => editor.getByRole('alert').textContent()).toContain('not valid UTF-8');
    await page.getByRole('radio', { name: 'hex' }).check();
    await page.getByTestId('data-text').fill('00 ff 02');
    await screenshot(page, 'binary');
    await page.getByRole('button', { name: 'Save (version 0)' }).click();
    const stored = async () => (await http('GET', `${base}/v1/znodes/app/blob?encoding=base64`)).body.data;
    await expect.poll(stored, { timeout: LIVE_MS }).toBe(Buffer.from([0x00, 0xff, 0x02]).toString('base64'));
    expect(watched.problems).toEqual([]);
  }, TEST_MS);

  it('refuses to save invalid JSON typed in the JSON view, saying why, and stores nothing', async () => {
    await open('/app/config');
    await expect.poll(dataText).toContain('"feature"');
    const before = (await get('/app/config')).body;
    await page.getByTestId('data-text').fill('{"feature": tru');
    await page.getByRole('button', { name: /^Save/ }).click();
    await expect.poll(() => page.getByTestId('save-status').textContent()).toContain('not valid JSON');
    expect(await dataText()).toBe('{"feature": tru'); // kept to be fixed
    const after = (await get('/app/config')).body;
    expect([after.data, after.stat.version]).toEqual([before.data, before.stat.version]);
  }, TEST_MS);

  it('creates a child from the form and opens it', async () => {
    await open('/app');
    await page.getByRole('tab', { name: 'Create child' }).click();
    await page.getByLabel(/^Name/).fill('made');
    await page.getByLabel(/^Data/).fill('hello');
    await screenshot(page, 'create');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => page.getByTestId('node-path').textContent()).toBe('/app/made');
    const made = await get('/app/made');
    expect(made.status).toBe(200);
    expect(made.body.data).toBe('hello');
  }, TEST_MS);

  it('shows BADVERSION when another client changed the node between load and save, and keeps both edits apart', async () => {
    await open('/app/made');
    await expect.poll(dataText).toBe('hello');
    await page.getByTestId('data-text').fill('mine');
    expect((await put('/app/made', 'theirs')).status).toBe(200); // another client, after the console loaded version 0
    await page.getByTestId('remote-change').waitFor({ timeout: LIVE_MS });
    await page.getByRole('button', { name: /^Save/ }).click();
    await expect.poll(() => page.getByTestId('save-status').textContent()).toContain('BADVERSION');
    expect(await dataText()).toBe('mine'); // the edit stays on screen
    expect((await get('/app/made')).body.data).toBe('theirs'); // and the other write stays stored
    await screenshot(page, 'badversion');

    await page.getByRole('button', { name: 'Reload', exact: true }).first().click();
    await expect.poll(dataText).toBe('theirs');
    await page.getByTestId('data-text').fill('mine, on top of theirs');
    await page.getByRole('button', { name: 'Save (version 1)' }).click();
    await expect.poll(async () => (await get('/app/made')).body.data).toBe('mine, on top of theirs');
  }, TEST_MS);

  it('keeps an edit typed a moment before another client\'s write, even when the page\'s next frame comes late', async () => {
    expect((await post('/app/typed', 'hello')).status).toBe(201);
    await open('/app/typed');
    await expect.poll(dataText).toBe('hello');
    // Frames held back, as on a busy machine: Preact runs effects only after the next one (or
    // 100 ms), so what the live handler knows must not wait for an effect.
    await page.evaluate(() => {
      window.requestAnimationFrame = () => 0;
    });
    await page.getByTestId('data-text').fill('mine');
    expect((await put('/app/typed', 'theirs')).status).toBe(200);
    await page.getByTestId('remote-change').waitFor({ timeout: LIVE_MS });
    expect(await dataText()).toBe('mine');
    expect((await get('/app/typed')).body.data).toBe('theirs');
  }, TEST_MS);

  it('shows another client\'s writes live: a new child in the tree, new data in the open node, the event in the log', async () => {
    await open('/app/config');
    await page.getByRole('button', { name: 'Expand /app' }).click();
    await page.locator('[data-path="/app/jobs"]').waitFor();
    expect((await post('/app/from-curl', 'x')).status).toBe(201);
    await page.locator('[data-path="/app/from-curl"]').waitFor({ timeout: LIVE_MS });
    expect((await put('/app/config', '{"feature":false}')).status).toBe(200);
    await expect.poll(dataText, { timeout: LIVE_MS }).toBe('{\n  "feature": false\n}');
    const log = page.getByTestId('event-log');
    await expect.poll(() => log.textContent()).toContain('NodeCreated /app/from-curl');
    await expect.poll(() => log.textContent()).toContain('NodeDataChanged /app/config');
    await screenshot(page, 'events');
  }, TEST_MS);

  it('deletes a node, and a subtree after a confirmation', async () => {
    await open('/app/from-curl');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect.poll(() => page.getByTestId('node-path').textContent()).toBe('/app');
    expect((await get('/app/from-curl')).status).toBe(404);

    for (const path of ['/app/jobs/a', '/app/jobs/a/b']) expect((await post(path)).status).toBe(201);
    await open('/app/jobs');
    await page.getByRole('button', { name: 'Delete recursively…' }).click();
    const dialog = page.getByTestId('confirm-delete');
    await expect.poll(() => dialog.textContent()).toContain('3 nodes will be deleted');
    await screenshot(page, 'confirm-delete');
    await dialog.getByRole('button', { name: 'Delete 3 nodes' }).click();
    await expect.poll(() => page.getByTestId('node-path').textContent()).toBe('/app');
    expect((await get('/app/jobs')).status).toBe(404);
  }, TEST_MS);

  it('shows the node\'s key metrics and a session\'s ephemerals', async () => {
    await open('/app');
    await page.getByRole('tab', { name: 'Metrics' }).click();
    const metrics = page.getByTestId('metrics');
    await expect.poll(() => metrics.textContent()).toContain('znodes');
    await screenshot(page, 'metrics');

    await page.getByRole('tab', { name: 'Create child' }).click();
    await page.getByLabel(/^Name/).fill('eph');
    await page.getByLabel('Mode').selectOption('ephemeral');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => page.getByTestId('node-path').textContent()).toBe('/app/eph');
    const owner = (await get('/app/eph')).body.stat.ephemeralOwner as string;
    expect(owner).not.toBe('0');
    await page.getByRole('tab', { name: 'Sessions' }).click();
    const own = page.locator(`[data-session="${owner}"]`);
    await expect.poll(() => own.getByRole('heading').textContent(), { timeout: LIVE_MS }).toBe(`Session ${owner} (this console)`);
    await expect.poll(() => own.getByRole('list', { name: `Ephemerals of session ${owner}` }).textContent()).toContain('/app/eph');
  }, TEST_MS);

  it('lists a session another client opened, with its ephemeral, in the Sessions panel (GET /v1/sessions, re-read live)', async () => {
    await open('/app');
    await page.getByRole('tab', { name: 'Sessions' }).click();
    await page.getByTestId('sessions').waitFor();
    // Opened after the panel: it shows up on a later re-read, not from the first answer.
    const fetchJson = (url: string, init: RequestInit = {}) => fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    const opened = await fetchJson(`${base}/v1/sessions`, { method: 'POST', body: '{"timeoutMs":20000}', headers: { 'content-type': 'application/json' } });
    expect(opened.status).toBe(201);
    const session = (await opened.json()) as { id: string; token: string };
    const created = await fetchJson(`${base}/v1/znodes/app/worker-1?mode=ephemeral`, { method: 'POST', body: '', headers: { 'zk-session-id': session.id, 'zk-session-token': session.token } });
    expect(created.status).toBe(201);
    try {
      const listed = page.locator(`[data-session="${session.id}"]`);
      await expect.poll(() => listed.count(), { timeout: LIVE_MS }).toBe(1);
      expect(await listed.getByRole('heading').textContent()).toBe(`Session ${session.id}`);
      expect(await listed.textContent()).toContain('timeout 20000 ms');
      const link = listed.getByRole('link', { name: '/app/worker-1' });
      await link.waitFor({ timeout: LIVE_MS });
      expect(await page.content()).not.toContain(session.token);
      await screenshot(page, 'sessions');
      await link.click();
      await expect.poll(() => page.getByTestId('node-path').textContent()).toBe('/app/worker-1');
      expect(watched.problems).toEqual([]);
    } finally {
      await fetchJson(`${base}/v1/sessions/${session.id}`, { method: 'DELETE', headers: { 'zk-session-id': session.id, 'zk-session-token': session.token } });
    }
  }, TEST_MS);

  it('keeps working after the node restarts on the same data dir', async () => {
    await open('/app');
    await page.getByRole('button', { name: 'Expand /app' }).click();
    await page.locator('[data-path="/app/config"]').waitFor();
    await node.kill();
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: LIVE_MS }).not.toBe('live');
    node = new CorralProcess(dir, port);
    await node.waitHealthy(60_000);
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: 20_000 }).toBe('live');
    expect((await post('/app/after-restart', 'still here')).status).toBe(201);
    await page.locator('[data-path="/app/after-restart"]').waitFor({ timeout: LIVE_MS });
    expect(watched.problems).toEqual([]);
  }, TEST_MS);

  it('made every request through the public API: each one an operation of openapi.yaml', () => {
    const operations = specOperations();
    const used = new Set<string>();
    const outside: string[] = [];
    for (const request of requested) {
      const [method, path] = request.split(' ') as [string, string];
      const operation = operations.find((o) => o.method === method && o.pattern.test(path));
      if (operation) used.add(`${operation.method} ${operation.path}`);
      else outside.push(request);
    }
    expect(outside).toEqual([]);
    // The recording saw what the tests above did: reads, each kind of write, the stream, the panels.
    for (const operation of ['GET /ui', 'GET /ui/{file}', 'GET /v1/znodes/{path}', 'POST /v1/znodes/{path}', 'PUT /v1/znodes/{path}',
      'DELETE /v1/znodes/{path}', 'GET /v1/children/{path}', 'GET /v1/watch', 'GET /v1/sessions', 'GET /metrics']) {
      expect([...used], operation).toContain(operation);
    }
  });

  it('records the bundle\'s weight and the first render time', async () => {
    const fresh = await openPage(browser);
    await fresh.page.goto(`${base}/ui#/app`);
    await fresh.page.locator('[data-path="/app"]').waitFor();
    const timing = await fresh.page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const paint = performance.getEntriesByName('first-contentful-paint')[0];
      const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
      const files = resources.filter((r) => r.name.includes('/ui/'));
      return {
        domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd),
        firstContentfulPaintMs: paint ? Math.round(paint.startTime) : null,
        treeShownMs: Math.round(performance.now()),
        transferBytes: nav.transferSize + files.reduce((sum, r) => sum + r.transferSize, 0),
        decodedBytes: nav.decodedBodySize + files.reduce((sum, r) => sum + r.decodedBodySize, 0),
      };
    });
    writeFileSync(join(SCREENSHOTS_DIR, 'timing.json'), `${JSON.stringify(timing, null, 2)}\n`);
    expect(timing.decodedBytes).toBeGreaterThan(0);
    expect(timing.firstContentfulPaintMs).not.toBeNull();
    await fresh.page.close();
  }, TEST_MS);
});

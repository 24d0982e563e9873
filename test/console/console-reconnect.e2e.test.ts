/**
 * The console's live stream across reconnects, in Chromium: the node is stopped, writes are made
 * while the console cannot reach it (by the same data dir served on another port, so the console
 * keeps failing on its own), and the node comes back on the console's port.
 * - An ordinary reconnect resumes with Last-Event-ID: every event written while away appears in the
 *   event log once, in order, and none seen before is repeated. A console that saw no event before
 *   the drop has no id to resume after: it re-reads what it shows instead.
 * - When the writes trimmed the history past the console's resume point (--history-events-max is
 *   small), the node answers `event: reset`: the console says so in a visible alert and re-reads
 *   what it shows (a child created while away appears in the tree, the open node shows its new
 *   data), though the events themselves are gone; an edit in progress is kept and the node marked
 *   as perhaps changed instead (saving it then meets the version check).
 * Screenshots of both land in test-results/console/ after what they show was asserted in the DOM.
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.ts';
import { http, makeTempDir, removeDir } from '../support/corral-process.ts';
import { CHROMIUM, launchChromium, openPage, screenshot, type WatchedPage } from './browser.ts';
import { ensureConsoleBuilt } from './console-bundle.ts';

const WAIT_MS = 15_000;
const HISTORY_EVENTS_MAX = 50;
/** Writes allowed to trim the history (it trims every 256 flushes; one awaited write is one flush). */
const TRIM_WRITES_MAX = 1500;

interface Logged {
  readonly type: string;
  readonly path: string;
  readonly zxid: bigint;
}

/** The event log's watch events, oldest first (the panel lists them newest first). */
async function loggedEvents(page: Page): Promise<Logged[]> {
  const lines = await page.getByTestId('event-log').locator('li.log-watch').allTextContents();
  return lines.reverse().map((line) => {
    const match = /(Node\w+) (\/\S*) \(zxid (\d+)\)/.exec(line);
    if (!match) throw new Error(`not an event line: ${line}`);
    return { type: match[1]!, path: match[2]!, zxid: BigInt(match[3]!) };
  });
}

describe('the console\'s live stream across a reconnect', () => {
  let dir: string;
  let server: RunningServer | undefined;
  let port: number;
  let browser: Browser;
  let watched: WatchedPage;
  let page: Page;

  const start = (onPort: number) => startServer({ dataDir: dir, host: '127.0.0.1', port: onPort, historyEventsMax: HISTORY_EVENTS_MAX, logLevel: 'silent' });
  const url = () => server!.url;

  /** Stops the node, runs `writes` against its data served on another port, and restarts it on its own. */
  async function writeWhileAway(writes: (base: string, away: RunningServer) => Promise<void>): Promise<void> {
    await server!.close();
    server = undefined;
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: WAIT_MS }).not.toBe('live');
    const away = await start(0);
    try {
      await writes(away.url, away);
    } finally {
      await away.close();
    }
    server = await start(port);
  }

  /** Writes to /t until the node's history no longer holds `zxid`. */
  async function trimPast(base: string, away: RunningServer, zxid: bigint): Promise<void> {
    if ((await http('GET', `${base}/v1/znodes/t`)).status === 404) expect((await http('POST', `${base}/v1/znodes/t`, '')).status).toBe(201);
    let writes = 0;
    while (BigInt(away.node.changes.history.floor()) <= zxid && writes < TRIM_WRITES_MAX) {
      expect((await http('PUT', `${base}/v1/znodes/t`, String(writes++))).status).toBe(200);
    }
    expect(BigInt(away.node.changes.history.floor()) > zxid, `the history was trimmed within ${TRIM_WRITES_MAX} writes`).toBe(true);
  }

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}: bash .ci/install-chromium.sh`).toBe(true);
    await ensureConsoleBuilt();
    dir = makeTempDir('corral-console-reconnect-');
    server = await start(0);
    port = Number(new URL(server.url).port);
    for (const path of ['/app', '/app/config']) expect((await http('POST', `${url()}/v1/znodes${path}`, 'v0')).status).toBe(201);
    browser = await launchChromium();
    watched = await openPage(browser);
    page = watched.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    removeDir(dir);
  });

  it('resumes with Last-Event-ID: the events written while away appear in the log once, in order', async () => {
    await page.goto(`${url()}/ui#/app`);
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: WAIT_MS }).toBe('live');
    await page.getByRole('button', { name: 'Expand /app' }).click();
    await page.locator('[data-path="/app/config"]').waitFor();
    expect((await http('PUT', `${url()}/v1/znodes/app`, 'before')).status).toBe(200);
    await expect.poll(async () => (await loggedEvents(page)).map((e) => `${e.type} ${e.path}`), { timeout: WAIT_MS }).toEqual(['NodeDataChanged /app']);

    await writeWhileAway(async (base) => {
      for (const path of ['/app/r1', '/app/r2']) expect((await http('POST', `${base}/v1/znodes${path}`, 'x')).status).toBe(201);
      expect((await http('PUT', `${base}/v1/znodes/app`, 'while away')).status).toBe(200);
      expect((await http('DELETE', `${base}/v1/znodes/app/r1`)).status).toBe(204);
    });

    const expected = ['NodeDataChanged /app', 'NodeCreated /app/r1', 'NodeCreated /app/r2', 'NodeDataChanged /app', 'NodeDeleted /app/r1'];
    await expect.poll(async () => (await loggedEvents(page)).map((e) => `${e.type} ${e.path}`), { timeout: WAIT_MS }).toEqual(expected);
    const zxids = (await loggedEvents(page)).map((e) => e.zxid);
    expect(zxids.every((z, i) => i === 0 || z > zxids[i - 1]!), `zxids in order: ${zxids.join(', ')}`).toBe(true);
    expect(await page.getByTestId('live-status').textContent()).toBe('live');
    await expect.poll(() => page.getByTestId('event-log').textContent(), { timeout: WAIT_MS }).toMatch(/stream live: resumed after \d+-\d+/);
    expect(await page.getByTestId('reset-notice').count()).toBe(0);
    // The tree followed the replayed events.
    await page.locator('[data-path="/app/r2"]').waitFor({ timeout: WAIT_MS });
    await expect.poll(() => page.locator('[data-path="/app/r1"]').count(), { timeout: WAIT_MS }).toBe(0);
    await expect.poll(() => page.getByTestId('data-text').inputValue(), { timeout: WAIT_MS }).toBe('while away');
    await screenshot(page, 'resumed');
    expect(watched.problems).toEqual([]);
  }, 90_000);

  it('says so visibly when the node no longer holds the history to resume from, and re-reads what it shows', async () => {
    await page.goto('about:blank');
    await page.goto(`${url()}/ui#/app/config`);
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: WAIT_MS }).toBe('live');
    await page.getByRole('button', { name: 'Expand /app' }).click();
    await page.locator('[data-path="/app/config"]').waitFor();
    const seen = await http('PUT', `${url()}/v1/znodes/app/config`, 'v1');
    expect(seen.status).toBe(200);
    await expect.poll(() => page.getByTestId('data-text').inputValue(), { timeout: WAIT_MS }).toBe('v1');
    await expect.poll(() => page.getByTestId('event-log').textContent(), { timeout: WAIT_MS }).toContain(`NodeDataChanged /app/config (zxid ${seen.body.stat.mzxid})`);

    let lastMissed = 0n;
    await writeWhileAway(async (base, away) => {
      expect((await http('POST', `${base}/v1/znodes/app/made-while-away`, 'x')).status).toBe(201);
      const changed = await http('PUT', `${base}/v1/znodes/app/config`, 'v2');
      expect(changed.status).toBe(200);
      lastMissed = BigInt(changed.body.stat.mzxid);
      await trimPast(base, away, lastMissed);
    });

    const notice = page.getByRole('alert').filter({ hasText: 'no longer holds the history' });
    await notice.waitFor({ timeout: WAIT_MS });
    expect(await notice.isVisible()).toBe(true);
    expect(await page.getByTestId('reset-notice').textContent()).toContain('events were missed, so the views were reloaded');
    // Re-read, not replayed: the events of these two writes are gone from the history.
    await page.locator('[data-path="/app/made-while-away"]').waitFor({ timeout: WAIT_MS });
    await expect.poll(() => page.getByTestId('data-text').inputValue(), { timeout: WAIT_MS }).toBe('v2');
    const logged = await loggedEvents(page);
    expect(logged.some((e) => e.zxid <= lastMissed && e.zxid > BigInt(seen.body.stat.mzxid)), 'no event the node no longer held').toBe(false);
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: WAIT_MS }).toBe('live');
    await screenshot(page, 'reset-notice');

    await page.getByTestId('reset-notice').getByRole('button', { name: 'Dismiss' }).click();
    await expect.poll(() => page.getByTestId('reset-notice').count(), { timeout: WAIT_MS }).toBe(0);
    expect(watched.problems).toEqual([]);
  }, 120_000);

  it('re-reads what it shows when the stream dropped before it saw any event (no id to resume after)', async () => {
    await page.goto('about:blank');
    await page.goto(`${url()}/ui#/app`);
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: WAIT_MS }).toBe('live');
    await page.getByRole('button', { name: 'Expand /app' }).click();
    await page.locator('[data-path="/app/config"]').waitFor();
    expect(await loggedEvents(page)).toEqual([]);

    await writeWhileAway(async (base) => {
      expect((await http('POST', `${base}/v1/znodes/app/quiet`, 'x')).status).toBe(201);
      expect((await http('PUT', `${base}/v1/znodes/app`, 'changed while quiet')).status).toBe(200);
    });

    await page.locator('[data-path="/app/quiet"]').waitFor({ timeout: WAIT_MS });
    await expect.poll(() => page.getByTestId('data-text').inputValue(), { timeout: WAIT_MS }).toBe('changed while quiet');
    await expect.poll(() => page.getByTestId('event-log').textContent(), { timeout: WAIT_MS }).toContain('no event was seen before the drop to resume after');
    expect(await page.getByTestId('reset-notice').count()).toBe(0); // nothing the node dropped: no alert
    expect(watched.problems).toEqual([]);
  }, 90_000);

  it('keeps an edit in progress across a history reset: the node is marked as perhaps changed, the edit stays on screen', async () => {
    await page.goto('about:blank');
    await page.goto(`${url()}/ui#/app/config`);
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: WAIT_MS }).toBe('live');
    // An event seen, so the console has a point to resume after (and the node then answers reset).
    expect((await http('PUT', `${url()}/v1/znodes/app/config`, 'seen')).status).toBe(200);
    await expect.poll(() => page.getByTestId('data-text').inputValue(), { timeout: WAIT_MS }).toBe('seen');
    await page.getByTestId('data-text').fill('my edit');

    await writeWhileAway(async (base, away) => {
      const changed = await http('PUT', `${base}/v1/znodes/app/config`, 'theirs, while away');
      expect(changed.status).toBe(200);
      await trimPast(base, away, BigInt(changed.body.stat.mzxid));
    });

    await page.getByTestId('reset-notice').waitFor({ timeout: WAIT_MS });
    await expect.poll(() => page.getByTestId('remote-change').textContent(), { timeout: WAIT_MS }).toContain('perhaps changed by another client');
    expect(await page.getByTestId('data-text').inputValue()).toBe('my edit');
    await page.getByRole('button', { name: /^Save/ }).click();
    await expect.poll(() => page.getByTestId('save-status').textContent(), { timeout: WAIT_MS }).toContain('BADVERSION');
    expect((await http('GET', `${url()}/v1/znodes/app/config`)).body.data).toBe('theirs, while away');
    expect(page.url()).toContain('/ui#/app/config');
    expect(watched.problems).toEqual([]);
  }, 120_000);
});

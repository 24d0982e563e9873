/**
 * A real browser opens its session's event stream with a ticket, never with the token in a URL:
 * Chromium (playwright-core) loads a page served at Corral's own origin (the page is answered
 * by the test through Playwright's routing; every other request goes to the real server), which
 * opens a session, asks for a stream ticket, opens `EventSource(…/events?ticket=…)` and adds a
 * watch. The test then makes the server end that stream (a second stream for the session
 * replaces it): EventSource reconnects by itself to the same URL, its ticket spent, and gets in
 * with the HttpOnly cookie the first open set, which the page's scripts cannot read. Events
 * before and after the reconnect arrive once each. No request the browser sent carries the token
 * in its URL.
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { existsSync } from 'node:fs';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTempDir, removeDir } from '../support/corral-process.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

const WAIT_MS = 15_000;

interface PageState {
  status: string;
  opens: number;
  errors: number;
  events: Array<{ type: string; path: string; id: string }>;
  session?: { id: string; token: string };
  cookieVisible?: string;
}

const PAGE = `<!doctype html>
<html><body><p id="status">starting</p>
<script>
  const state = window.state = { status: 'starting', opens: 0, errors: 0, events: [] };
  async function main() {
    const opened = await fetch('/v1/sessions', { method: 'POST', body: JSON.stringify({ timeoutMs: 20000 }) });
    const session = state.session = await opened.json();
    const headers = { 'Zk-Session-Id': session.id, 'Zk-Session-Token': session.token };
    const issued = await fetch('/v1/sessions/' + session.id + '/stream-ticket', { method: 'POST', headers });
    if (issued.status !== 200) throw new Error('stream-ticket: ' + issued.status);
    const { ticket } = await issued.json();
    const es = window.es = new EventSource('/v1/sessions/' + session.id + '/events?ticket=' + encodeURIComponent(ticket));
    es.onopen = () => { state.opens += 1; state.cookieVisible = document.cookie; };
    es.onerror = () => { state.errors += 1; };
    es.addEventListener('watch', (e) => {
      const data = JSON.parse(e.data);
      state.events.push({ type: data.type, path: data.path, id: e.lastEventId });
    });
    await new Promise((resolve, reject) => {
      es.addEventListener('open', resolve, { once: true });
      es.addEventListener('error', () => { if (es.readyState === EventSource.CLOSED) reject(new Error('stream refused')); });
    });
    const watched = await fetch('/v1/sessions/' + session.id + '/watches', {
      method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: '/t', mode: 'persistent' }),
    });
    if (watched.status !== 201) throw new Error('addWatch: ' + watched.status);
    state.status = 'subscribed';
  }
  main().catch((e) => { state.status = 'failed: ' + e; });
</script></body></html>`;

describe('a browser\'s EventSource with a stream ticket', () => {
  let corral: RunningServer | undefined;
  let dataDir: string | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const urls: string[] = [];
  let setupError: unknown;

  beforeAll(async () => {
    try {
      if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: this test needs a real browser (bash .ci/install-chromium.sh).`);
      dataDir = makeTempDir('corral-ticket-browser-');
      corral = await startServer({ dataDir, port: 0, host: '127.0.0.1' });
      browser = await launchChromium();
      page = await browser.newPage();
      page.setDefaultTimeout(WAIT_MS);
      page.on('request', (r) => urls.push(r.url()));
      await page.route(`${corral.url}/page.html`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: PAGE }));
    } catch (error) {
      setupError = error;
    }
  });

  afterAll(async () => {
    const steps: Array<() => Promise<unknown>> = [async () => browser?.close(), async () => corral?.close(), async () => { if (dataDir) removeDir(dataDir); }];
    for (const step of steps) {
      try {
        await Promise.race([step(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
      } catch {
        // keep closing the rest
      }
    }
  });

  const state = () => page!.evaluate(() => (window as unknown as { state: PageState }).state);
  const until = async (predicate: string, what: string) => {
    try {
      await page!.waitForFunction(predicate, undefined, { timeout: WAIT_MS, polling: 50 });
    } catch {
      throw new Error(`${what}: not reached within ${WAIT_MS} ms; page state ${JSON.stringify(await state())}`);
    }
  };
  const write = async (path: string, data: string) => {
    const res = await fetch(`${corral!.url}/v1/znodes${path}`, { method: 'PUT', body: data });
    expect(res.status).toBe(200);
  };

  it('opens with a ticket, reconnects by itself with the cookie once its ticket is spent, and misses no event', async () => {
    if (setupError) throw setupError;
    expect((await fetch(`${corral!.url}/v1/znodes/t`, { method: 'POST', body: '0' })).status).toBe(201);
    await page!.goto(`${corral!.url}/page.html`);
    await until('window.state && window.state.status === "subscribed"', 'the page subscribing');
    const { session } = await state();
    await write('/t', '1');
    await until('window.state.events.length >= 1', 'the first event');

    // Another stream for the session replaces the browser's: its stream ends, and EventSource reconnects.
    const controller = new AbortController();
    const replacing = await fetch(`${corral!.url}/v1/sessions/${session!.id}/events`, { headers: { 'zk-session-token': session!.token }, signal: controller.signal });
    expect(replacing.status).toBe(200);
    await until('window.state.opens >= 2', 'EventSource reconnecting by itself');
    controller.abort();
    await write('/t', '2');
    await until('window.state.events.length >= 2', 'the event after the reconnect');

    const s = await state();
    expect(s.events.map((e) => `${e.type} ${e.path}`)).toEqual(['NodeDataChanged /t', 'NodeDataChanged /t']);
    expect(new Set(s.events.map((e) => e.id)).size).toBe(2);
    expect(s.cookieVisible).toBe('');
    expect(urls.filter((u) => u.includes('token='))).toEqual([]);
    expect(urls.filter((u) => u.includes('/events?ticket=')).length).toBeGreaterThanOrEqual(2);
  });
});

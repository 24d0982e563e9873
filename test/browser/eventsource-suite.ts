/**
 * The browser test's body (see eventsource.e2e.test.ts), run against whatever node a test file
 * starts: the embedded store there, a gateway over real ZooKeeper in
 * test/backend/zookeeper/browser.gateway.e2e.test.ts. The assertions are the same for both but
 * for the documented gateway difference in event zxids (`eventZxids`).
 */
import { existsSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp, CuttableProxy, listenStatic } from './page-servers.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

/** A running node the page talks to; close() stops it and everything it needed. */
export interface RunningNode {
  readonly url: string;
  close(): Promise<unknown>;
}

export interface BrowserTarget {
  /** Shown in the suite's title. */
  readonly name: string;
  /** Starts a node on 127.0.0.1 allowing CORS from `corsOrigins` only. */
  start(options: { corsOrigins: string[] }): Promise<RunningNode>;
  /**
   * An event's zxid: the change's own (the embedded store), or at or after it (a gateway dates
   * ZooKeeper's zxid-less notifications with a later read's zxid; docs/operations.md, "event zxids").
   */
  readonly eventZxids: 'the change' | 'at or after the change';
}

const WAIT_MS = 10_000;

interface WatchEvent {
  readonly type: string;
  readonly path: string;
  readonly zxid: string;
  readonly id: string;
}

interface PageState {
  status: string;
  opens: number;
  errors: number;
  events: WatchEvent[];
  other: Array<{ event: string; data: string }>;
  session?: { id: string; token: string; timeoutMs: number };
  location?: string | null;
  zxidHeader?: string | null;
  watch?: { status: number; body: unknown };
}

/** The page: plain inline JS, no build step. `?corral=<base url>` says where Corral is. */
const PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>Corral EventSource</title>
<style>
  body { font: 14px/1.4 sans-serif; margin: 16px; }
  #status { font-weight: bold; }
  #events li { font-family: monospace; }
</style>
</head>
<body>
<h1>Corral watch events</h1>
<p>stream: <span id="status">starting</span> (opens: <span id="opens">0</span>, errors: <span id="errors">0</span>)</p>
<ol id="events"></ol>
<script>
  const state = window.state = { status: 'starting', opens: 0, errors: 0, events: [], other: [] };
  const corral = new URLSearchParams(location.search).get('corral');
  const show = () => {
    document.getElementById('status').textContent = state.status;
    document.getElementById('opens').textContent = String(state.opens);
    document.getElementById('errors').textContent = String(state.errors);
  };
  async function main() {
    const opened = await fetch(corral + '/v1/sessions', { method: 'POST', body: JSON.stringify({ timeoutMs: 20000 }) });
    if (opened.status !== 201) throw new Error('open session: ' + opened.status + ' ' + await opened.text());
    const session = state.session = await opened.json();
    state.location = opened.headers.get('Location');
    state.zxidHeader = opened.headers.get('Zk-Zxid');

    // The stream first, then the watch: no event can fire before the stream is there.
    const es = new EventSource(corral + '/v1/sessions/' + session.id + '/events?token=' + encodeURIComponent(session.token));
    window.es = es;
    es.onopen = () => { state.opens += 1; state.status = state.opens > 1 ? 'reconnected' : 'open'; show(); };
    es.onerror = () => { state.errors += 1; state.status = es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'; show(); };
    es.addEventListener('watch', (e) => {
      const data = JSON.parse(e.data);
      const event = { type: data.type, path: data.path, zxid: data.zxid, id: e.lastEventId };
      state.events.push(event);
      const li = document.createElement('li');
      li.textContent = event.type + ' ' + event.path + '  (id ' + event.id + ')';
      document.getElementById('events').appendChild(li);
    });
    for (const name of ['session', 'overflow']) {
      es.addEventListener(name, (e) => state.other.push({ event: name, data: e.data }));
    }
    await new Promise((resolve, reject) => {
      es.addEventListener('open', resolve, { once: true });
      es.addEventListener('error', () => { if (es.readyState === EventSource.CLOSED) reject(new Error('stream refused')); });
    });

    const watched = await fetch(corral + '/v1/sessions/' + session.id + '/watches', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Zk-Session-Id': session.id, 'Zk-Session-Token': session.token },
      body: JSON.stringify({ path: '/app', mode: 'persistent_recursive' }),
    });
    state.watch = { status: watched.status, body: await watched.json() };
    if (watched.status !== 201) throw new Error('addWatch: ' + watched.status);
    state.status = 'subscribed';
    show();
  }
  main().catch((e) => { state.status = 'failed: ' + e; show(); });
</script>
</body>
</html>
`;

/** Event ids are `<zxid>-<k>`: compare numerically. */
function idKey(id: string): [bigint, number] {
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (!m) throw new Error(`event id "${id}" is not <zxid>-<k>`);
  return [BigInt(m[1]!), Number(m[2])];
}

function isAfterId(a: string, b: string): boolean {
  const [za, ka] = idKey(a);
  const [zb, kb] = idKey(b);
  return za > zb || (za === zb && ka > kb);
}

export function eventSourceSuite(target: BrowserTarget): void {
  describe(`Chromium: EventSource on a session, cross-origin, across a dropped connection (${target.name})`, () => {
    let corral: RunningNode | undefined;
    let proxy: CuttableProxy | undefined;
    let proxyUrl = '';
    let site: { server: HttpServer; origin: string } | undefined;
    let otherSite: { server: HttpServer; origin: string } | undefined;
    let browser: Browser | undefined;
    let page: Page | undefined;
    const pageErrors: string[] = [];
    const consoleErrors: string[] = [];

    /** Writes go straight to Corral, never through the proxy, so a cut never stops them. */
    const expected: Array<{ type: string; path: string; zxid: string }> = [];

    async function write(method: 'POST' | 'PUT' | 'DELETE', path: string, data?: string): Promise<void> {
      const res = await fetch(`${corral!.url}/v1/znodes${path}`, { method, body: data });
      const want = method === 'POST' ? 201 : method === 'PUT' ? 200 : 204;
      const text = await res.text();
      expect(res.status, `${method} ${path}: ${text}`).toBe(want);
      if (method === 'DELETE') {
        expected.push({ type: 'NodeDeleted', path, zxid: res.headers.get('zk-zxid') ?? '?' });
      } else {
        const { stat } = JSON.parse(text) as { stat: { czxid: string; mzxid: string } };
        expected.push(method === 'POST'
          ? { type: 'NodeCreated', path, zxid: stat.czxid }
          : { type: 'NodeDataChanged', path, zxid: stat.mzxid });
      }
    }

    const state = (): Promise<PageState> => page!.evaluate(() => (window as unknown as { state: PageState }).state);

    /** Waits (bounded) until the page has seen `count` watch events; fails with what it has. */
    async function waitForEvents(count: number, what: string): Promise<void> {
      try {
        await page!.waitForFunction(
          (n) => (window as unknown as { state: PageState }).state.events.length >= n,
          count, { timeout: WAIT_MS, polling: 50 },
        );
      } catch {
        const s = await state();
        throw new Error(`${what}: the page shows ${s.events.length} of ${count} events after ${WAIT_MS} ms `
          + `(status ${s.status}, opens ${s.opens}, errors ${s.errors}):\n${JSON.stringify(s.events, null, 1)}\n`
          + `expected:\n${JSON.stringify(expected, null, 1)}\npage errors: ${pageErrors.join('; ')}; console: ${consoleErrors.join('; ')}`);
      }
    }

    async function waitForPage(predicate: string, what: string): Promise<void> {
      try {
        await page!.waitForFunction(predicate, undefined, { timeout: WAIT_MS, polling: 50 });
      } catch {
        throw new Error(`${what}: not reached within ${WAIT_MS} ms; page state ${JSON.stringify(await state())}; `
          + `page errors: ${pageErrors.join('; ')}; console: ${consoleErrors.join('; ')}`);
      }
    }

    /**
     * A setup failure (above all: no Chromium) is kept and thrown by every test, so each test
     * FAILS with the reason instead of being reported as skipped.
     */
    let setupError: unknown;
    const ready = () => {
      if (setupError) throw setupError;
    };

    beforeAll(async () => {
      try {
        await setup();
      } catch (error) {
        setupError = error;
      }
    });

    async function setup(): Promise<void> {
      if (!existsSync(CHROMIUM)) {
        throw new Error(`Chromium is missing at ${CHROMIUM}: this test needs a real browser. `
          + 'Install it with `bash .ci/install-chromium.sh` (Debian: apt-get install -y chromium).');
      }
      site = await listenStatic(PAGE);
      otherSite = await listenStatic(PAGE);
      corral = await target.start({ corsOrigins: [site.origin] });
      proxy = new CuttableProxy(Number(new URL(corral.url).port));
      proxyUrl = await proxy.listen();
      browser = await launchChromium();
      page = await browser.newPage();
      page.setDefaultTimeout(WAIT_MS);
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      // Console errors are only shown on failure: the cut itself logs net::ERR_INCOMPLETE_CHUNKED_ENCODING.
      page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    }

    afterAll(async () => {
      const steps: Array<() => Promise<unknown>> = [
        async () => browser?.close(),
        async () => proxy?.close(),
        async () => closeHttp(site?.server),
        async () => closeHttp(otherSite?.server),
        async () => corral?.close(),
      ];
      for (const step of steps) {
        try {
          await Promise.race([step(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
        } catch {
          // keep closing the rest
        }
      }
    });

    it('answers CORS only for the configured origin', async () => {
      ready();
      const allowed = { Origin: site!.origin };
      const denied = { Origin: otherSite!.origin };

      const open = await fetch(`${corral!.url}/v1/sessions`, { method: 'POST', headers: allowed, body: '{}' });
      expect(open.status).toBe(201);
      expect(open.headers.get('access-control-allow-origin')).toBe(site!.origin);
      expect(open.headers.get('access-control-expose-headers') ?? '').toMatch(/Zk-Zxid/i);
      const session = await open.json() as { id: string; token: string };

      const preflight = await fetch(`${corral!.url}/v1/sessions/${session.id}/watches`, {
        method: 'OPTIONS',
        headers: { ...allowed, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,zk-session-id,zk-session-token' },
      });
      expect(preflight.status).toBeLessThan(300);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(site!.origin);
      const allowHeaders = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const h of ['content-type', 'zk-session-id', 'zk-session-token', 'last-event-id']) expect(allowHeaders).toContain(h);

      // The SSE endpoint carries the header too (read the head, then hang up).
      const abort = new AbortController();
      const stream = await fetch(`${corral!.url}/v1/sessions/${session.id}/events?token=${encodeURIComponent(session.token)}`, {
        headers: allowed, signal: abort.signal,
      });
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(stream.headers.get('access-control-allow-origin')).toBe(site!.origin);
      abort.abort();

      for (const [method, url, headers] of [
        ['POST', '/v1/sessions', denied],
        ['OPTIONS', `/v1/sessions/${session.id}/watches`, { ...denied, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'zk-session-id' }],
        ['GET', '/v1/znodes', denied],
      ] as const) {
        const res = await fetch(`${corral!.url}${url}`, { method, headers, body: method === 'POST' ? '{}' : undefined });
        expect(res.headers.get('access-control-allow-origin'), `${method} ${url} from ${denied.Origin}`).toBeNull();
        await res.body?.cancel();
      }
      await fetch(`${corral!.url}/v1/sessions/${session.id}`, {
        method: 'DELETE', headers: { 'Zk-Session-Id': session.id, 'Zk-Session-Token': session.token },
      });
    });

    it('a page on a non-allowed origin cannot use Corral', async () => {
      ready();
      await page!.goto(`${otherSite!.origin}/?corral=${encodeURIComponent(proxyUrl)}`, { timeout: WAIT_MS });
      await waitForPage('window.state.status.startsWith("failed")', 'the page on a non-allowed origin fails');
      const s = await state();
      expect(s.status).toMatch(/TypeError|Failed to fetch/);
      expect(s.session).toBeUndefined();
    });

    it('shows NodeCreated / NodeDataChanged / NodeDeleted in order, and loses none across a dropped connection', { timeout: 45_000 }, async () => {
      ready();
      await page!.goto(`${site!.origin}/?corral=${encodeURIComponent(proxyUrl)}`, { timeout: WAIT_MS });
      await waitForPage('window.state.status === "subscribed"', 'the page opens a session, its stream and a watch');
      const opened = await state();
      expect(opened.opens).toBe(1);
      expect(opened.watch?.status).toBe(201);
      // Exposed headers are readable cross-origin.
      expect(opened.location).toBe(`/v1/sessions/${opened.session!.id}`);
      expect(opened.zxidHeader).toMatch(/^\d+$/);

      // 1. Live events.
      await write('POST', '/app', 'v0');
      await write('PUT', '/app', 'v1');
      await write('POST', '/app/a', 'a0');
      await write('PUT', '/app/a', 'a1');
      await write('DELETE', '/app/a');
      await write('POST', '/elsewhere', 'not watched');
      expected.pop(); // outside /app: no event for this session
      await waitForEvents(expected.length, 'live events');
      expect((await state()).events.map(({ type, path }) => `${type} ${path}`)).toEqual([
        'NodeCreated /app', 'NodeDataChanged /app', 'NodeCreated /app/a', 'NodeDataChanged /app/a', 'NodeDeleted /app/a',
      ]);

      // 2. A write, then the connection drops at once (its event may or may not have got through).
      await write('POST', '/app/b', 'b0');
      proxy!.cut();
      await waitForPage('window.state.errors >= 1', 'EventSource notices the dropped connection');
      const atDrop = await state();
      expect(atDrop.status).toBe('reconnecting');
      const lastSeen = atDrop.events.at(-1)!.id;

      // 3. Writes while the page is disconnected.
      await write('PUT', '/app/b', 'b1');
      await write('POST', '/app/c', 'c0');
      await write('DELETE', '/app/b');
      await write('PUT', '/app', 'v2');

      // 4. EventSource reconnects on its own (Chromium's default retry, ~3 s); the proxy holds that
      // attempt until more writes are in, then lets it through.
      const deadline = Date.now() + WAIT_MS;
      while (proxy!.heldCount === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(proxy!.heldCount, 'EventSource tried to reconnect').toBeGreaterThan(0);
      await write('PUT', '/app/c', 'c1');
      proxy!.resume();
      await waitForPage('window.state.opens >= 2', 'EventSource reconnects');
      await waitForEvents(expected.length, 'events missed while disconnected');

      // The reconnect carried Last-Event-ID: the last event the page had before the drop.
      const eventRequests = proxy!.sent.flatMap((text) => [...text.matchAll(/GET \/v1\/sessions\/\d+\/events\?token=[^]*?\r\n\r\n/g)].map((m) => m[0]));
      expect(eventRequests.length, `two GETs of the event stream, got:\n${proxy!.sent.join('\n----\n')}`).toBe(2);
      expect(eventRequests[0]).not.toMatch(/^last-event-id:/im);
      expect(eventRequests[1]).toMatch(new RegExp(`^last-event-id: ${lastSeen}\\r?$`, 'im'));

      // 5. After the reconnect the stream follows live again.
      await write('DELETE', '/app/c');
      await write('DELETE', '/app');
      await waitForEvents(expected.length, 'live events after the reconnect');
      // A sentinel change: the stream is ordered, so a late duplicate of anything earlier would
      // arrive before the sentinel's event.
      await write('POST', '/app');
      await waitForEvents(expected.length, 'the sentinel event');

      const final = await state();
      if (target.eventZxids === 'the change') {
        expect(final.events.map(({ type, path, zxid }) => ({ type, path, zxid }))).toEqual(expected);
      } else {
        expect(final.events.map(({ type, path }) => ({ type, path }))).toEqual(expected.map(({ type, path }) => ({ type, path })));
        for (const [i, e] of final.events.entries()) {
          expect(BigInt(e.zxid), `${e.type} ${e.path} dated at or after its change`).toBeGreaterThanOrEqual(BigInt(expected[i]!.zxid));
        }
      }
      expect(final.events.map((e) => `${e.type} ${e.path}`)).toEqual([
        'NodeCreated /app', 'NodeDataChanged /app', 'NodeCreated /app/a', 'NodeDataChanged /app/a', 'NodeDeleted /app/a',
        'NodeCreated /app/b', 'NodeDataChanged /app/b', 'NodeCreated /app/c', 'NodeDeleted /app/b', 'NodeDataChanged /app',
        'NodeDataChanged /app/c', 'NodeDeleted /app/c', 'NodeDeleted /app', 'NodeCreated /app',
      ]);
      const ids = final.events.map((e) => e.id);
      expect(new Set(ids).size, `no duplicate ids: ${ids.join(' ')}`).toBe(ids.length);
      for (let i = 1; i < ids.length; i++) {
        expect(isAfterId(ids[i]!, ids[i - 1]!), `ids increase: ${ids[i - 1]} then ${ids[i]}`).toBe(true);
      }
      for (const e of final.events) expect(idKey(e.id)[0]).toBe(BigInt(e.zxid));
      expect(final.opens).toBe(2);
      expect(final.status).toBe('reconnected');
      expect(final.other).toEqual([]);
      expect(pageErrors, 'uncaught errors in the page').toEqual([]);

      const shot = join(tmpdir(), `corral-eventsource-${target.name.replace(/\W+/g, '-')}.png`);
      await page!.screenshot({ path: shot, fullPage: true, timeout: WAIT_MS });
    });
  });
}

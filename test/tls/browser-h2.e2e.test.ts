/**
 * Why TLS serves HTTP/2: a browser page holds many EventSource streams to one origin. Over
 * HTTP/1.1 Chromium opens at most six connections per origin, each stream holds one, and a
 * seventh stream would wait forever; over HTTP/2 they all share one connection. Chromium
 * (playwright-core, /usr/bin/chromium, headless) loads a page from the TLS node itself, opens
 * twelve `/v1/watch` streams, and each must receive the event of its own node's creation.
 * The test CA is not installed in the browser: the context ignores certificate errors.
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { existsSync } from 'node:fs';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir } from '../support/corral-process.ts';
import { h1Request } from './tls-client.ts';
import { makeTestPki, startTlsNode, tlsConfigOf, type TestPki, type TlsNode } from './tls-fixture.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

const STREAMS = 12;
const WAIT_MS = 10_000;

interface PageState {
  opened: number;
  errors: number;
  received: Record<string, string>;
}

describe('a browser over HTTPS with HTTP/2', () => {
  let pki: TestPki;
  let node: TlsNode;
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is needed at ${CHROMIUM} (bash .ci/install-chromium.sh)`);
    pki = makeTestPki();
    node = await startTlsNode(tlsConfigOf(pki.pki));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await node?.close();
    if (pki) removeDir(pki.dir);
  });

  it(`holds ${STREAMS} EventSource streams to one origin (more than HTTP/1.1's 6), and each receives its event`, async () => {
    const context = await browser!.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      await page.goto(`${node.url}/healthz`);
      await page.evaluate((count) => {
        const state: PageState = { opened: 0, errors: 0, received: {} };
        (window as unknown as { state: PageState }).state = state;
        for (let i = 0; i < count; i++) {
          const es = new EventSource(`/v1/watch/streams/${i}`);
          es.onopen = () => { state.opened += 1; };
          es.onerror = () => { state.errors += 1; };
          es.addEventListener('watch', (e) => { state.received[String(i)] = (JSON.parse((e as MessageEvent<string>).data) as { type: string }).type; });
        }
      }, STREAMS);
      await page.waitForFunction((count) => (window as unknown as { state: PageState }).state.opened === count, STREAMS);

      expect((await h1Request(node.url, pki.anonymous, 'POST', '/v1/znodes/streams')).status).toBe(201);
      for (let i = 0; i < STREAMS; i++) expect((await h1Request(node.url, pki.anonymous, 'POST', `/v1/znodes/streams/${i}`)).status).toBe(201);
      await page.waitForFunction((count) => Object.keys((window as unknown as { state: PageState }).state.received).length === count, STREAMS);

      const state = await page.evaluate(() => (window as unknown as { state: PageState }).state);
      expect(state.errors).toBe(0);
      expect(Object.values(state.received)).toEqual(Array(STREAMS).fill('NodeCreated'));
      // The page itself came over the connection the streams share.
      const protocol = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol);
      expect(protocol).toBe('h2');
    } finally {
      await context.close();
    }
  });
});

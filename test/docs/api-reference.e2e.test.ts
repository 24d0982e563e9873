/**
 * The API reference on a real node (port 0): Chromium (playwright-core, /usr/bin/chromium,
 * headless) loads /docs with every request to any other origin aborted and recorded — none may
 * be made — and no Content-Security-Policy violation allowed; "Try it out" on GET
 * /v1/znodes/{path} performs a real request, whose answer the page shows. The spec's server is
 * the node's own address, over plain HTTP (Host given, and HTTP/1.0 without one) and over TLS
 * (HTTP/1.1 and HTTP/2, test PKI from scripts/dev-pki.ts).
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { packageFile } from '../../src/package-root.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { makeTempDir, removeDir } from '../support/corral-process.ts';
import { H2Client, h1Request } from '../tls/tls-client.ts';
import { makeTestPki, startTlsNode, tlsConfigOf, type TestPki, type TlsNode } from '../tls/tls-fixture.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

/** Swagger UI takes seconds to lay out a 130 kB spec on a busy 2-core machine: bounds only a hang reaches. */
const WAIT_MS = 60_000;
const TEST_MS = 180_000;
const REQUEST_TIMEOUT_MS = 5_000;

const packageVersion = (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;

interface Servers {
  readonly servers: ReadonlyArray<{ readonly url: string }>;
}

/** GET /openapi.yaml over HTTP/1.0 with no Host header, on a socket of its own (bounded in time). */
function specWithoutHost(base: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy(new Error('no answer in time')));
    socket.on('connect', () => socket.write('GET /openapi.yaml HTTP/1.0\r\n\r\n'));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (!text.startsWith('HTTP/1.1 200') || split === -1) reject(new Error(`unexpected answer: ${text.slice(0, 200)}`));
      else resolve(text.slice(split + 4));
    });
    socket.on('error', reject);
  });
}

/** A page whose every request to another origin is aborted and listed, with CSP violations and page errors listed too. */
async function isolatedPage(context: BrowserContext, origin: string) {
  const foreign: string[] = [];
  const problems: string[] = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { page, foreign, problems };
}

describe('the API reference in Chromium', () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is needed at ${CHROMIUM} (bash .ci/install-chromium.sh)`);
    dataDir = makeTempDir('corral-docs-');
    server = await startServer({ dataDir, host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dataDir) removeDir(dataDir);
  });

  async function withPage(test: (page: Page) => Promise<void>): Promise<{ foreign: string[]; problems: string[] }> {
    const context = await browser!.newContext();
    try {
      const { page, foreign, problems } = await isolatedPage(context, new URL(server.url).origin);
      await test(page);
      return { foreign, problems };
    } finally {
      await context.close();
    }
  }

  it('renders every operation from the node alone, with its version and the node as its server, under its CSP', async () => {
    const { foreign, problems } = await withPage(async (page) => {
      await page.goto(`${server.url}/docs`);
      await page.locator('#operations-znodes-getData').waitFor();
      expect(await page.locator('.opblock').count()).toBeGreaterThan(20);
      await expect.poll(() => page.locator('.info .title').innerText(), { timeout: WAIT_MS }).toContain(packageVersion);
      expect(await page.locator('.servers select option').allInnerTexts()).toEqual([expect.stringContaining(server.url)]);
    });
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  }, TEST_MS);

  it('performs a real request with "Try it out" on GET /v1/znodes/{path}, and shows its answer', async () => {
    const data = `written-at-${Date.now()}`;
    const created = await fetch(`${server.url}/v1/znodes/docs-demo`, { method: 'POST', body: data, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    expect(created.status).toBe(201);
    const { foreign, problems } = await withPage(async (page) => {
      await page.goto(`${server.url}/docs`);
      const operation = page.locator('#operations-znodes-getData');
      // Opened by a click: Swagger UI resolves an operation's $ref'd parameters ({path}) as it opens.
      await operation.locator('.opblock-summary').click();
      await operation.locator('.try-out__btn').click();
      await operation.locator('tr[data-param-name="path"] input').fill('docs-demo');
      const answered = page.waitForResponse((res) => res.url().startsWith(`${server.url}/v1/znodes/docs-demo`));
      await operation.locator('button.execute').click();
      expect((await answered).status()).toBe(200);
      const live = operation.locator('.live-responses-table');
      // The answer's row (the table's first row is its header: Code, Details).
      const answer = live.locator('tr.response').first();
      await expect.poll(() => answer.locator('.response-col_status').innerText(), { timeout: WAIT_MS }).toBe('200');
      await expect.poll(() => answer.locator('.response-col_description').innerText(), { timeout: WAIT_MS }).toContain(data);
      expect(await operation.locator('.request-url').innerText()).toContain(`${server.url}/v1/znodes/docs-demo`);
    });
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  }, TEST_MS);

  it("names the node's own address as the spec's server, with or without a Host header", async () => {
    const res = await fetch(`${server.url}/openapi.yaml`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    expect(res.status).toBe(200);
    const spec = parse(await res.text()) as Servers & { info: { version: string } };
    expect(spec.servers[0]!.url).toBe(server.url);
    expect(spec.info.version).toBe(packageVersion);
    // HTTP/1.0 without Host: the address and port the connection arrived at.
    expect((parse(await specWithoutHost(server.url)) as Servers).servers[0]!.url).toBe(server.url);
  });
});

describe('the spec served over TLS', () => {
  let pki: TestPki;
  let node: TlsNode;

  beforeAll(async () => {
    pki = makeTestPki();
    node = await startTlsNode(tlsConfigOf(pki.pki));
  });

  afterAll(async () => {
    await node?.close();
    if (pki) removeDir(pki.dir);
  });

  it('names the https address of the node as its server, over HTTP/1.1 and HTTP/2', async () => {
    expect(node.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const h1 = await h1Request(node.url, pki.anonymous, 'GET', '/openapi.yaml');
    expect(h1.status).toBe(200);
    expect((parse(h1.text) as Servers).servers[0]!.url).toBe(node.url);
    const h2 = await H2Client.connect(node.url, pki.anonymous);
    try {
      const reply = await h2.request('GET', '/openapi.yaml');
      expect(reply.status).toBe(200);
      expect((parse(reply.text) as Servers).servers[0]!.url).toBe(node.url);
    } finally {
      h2.close();
    }
  });
});

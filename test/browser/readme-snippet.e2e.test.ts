/**
 * The README's browser snippet ("### In a browser", its ```js block) must really work: Chromium
 * (playwright-core) loads a page from another origin that runs exactly that block as a module
 * script (it uses top-level await), with only the node's address replaced by the test server's.
 * Its console.log calls are captured; writes under /app made from Node must show up there as
 * the watch events `{type, path, zxid}` they caused, in order, and nothing else.
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.ts';
import { REPO_ROOT } from '../support/corral-process.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';
import { listenStatic } from './page-servers.ts';

const WAIT_MS = 10_000;
const README_NODE = 'http://127.0.0.1:8181';

/** The ```js block of the README's "### In a browser" section. */
function readmeSnippet(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = /^### In a browser\n([\s\S]*?)(?=^#{1,3} )/m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "### In a browser" section');
  const blocks = [...section.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  if (blocks.length !== 1) throw new Error(`"### In a browser" should hold one \`\`\`js block, found ${blocks.length}`);
  return blocks[0]!;
}

function pageFor(snippet: string): string {
  if (snippet.includes('</script')) throw new Error('the snippet cannot be inlined in a <script>');
  return `<!doctype html>
<html>
<head><meta charset="utf-8"><title>README browser snippet</title></head>
<body>
<p>Runs the README's browser snippet; open the console.</p>
<script type="module">
${snippet}
</script>
</body>
</html>
`;
}


interface Logged {
  readonly type: string;
  readonly path: string;
  readonly zxid: string;
}

describe('README: the browser snippet', () => {
  let dataDir: string | undefined;
  let corral: RunningServer | undefined;
  let site: { server: HttpServer; origin: string } | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let html = '';
  const pageErrors: string[] = [];
  const consoleOther: string[] = [];
  /** console.log arguments, in call order (each resolved from the page as JSON). */
  const logged: Array<Promise<unknown>> = [];
  let onLog: (() => void) | undefined;

  /** Resolves once the page has logged `count` times; false after WAIT_MS. */
  const untilLogged = (count: number) => new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => finish(false), WAIT_MS);
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      onLog = undefined;
      resolve(ok);
    };
    onLog = () => { if (logged.length >= count) finish(true); };
    onLog();
  });

  let setupError: unknown;
  const ready = () => {
    if (setupError) throw setupError;
  };

  beforeAll(async () => {
    try {
      if (!existsSync(CHROMIUM)) {
        throw new Error(`Chromium is missing at ${CHROMIUM}: this test needs a real browser. `
          + 'Install it with `bash .ci/install-chromium.sh` (Debian: apt-get install -y chromium).');
      }
      site = await listenStatic(() => html);
      dataDir = mkdtempSync(join(tmpdir(), 'corral-readme-browser-'));
      corral = await startServer({ dataDir, port: 0, host: '127.0.0.1', corsOrigins: [site.origin] });
      browser = await launchChromium();
      page = await browser.newPage();
      page.setDefaultTimeout(WAIT_MS);
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'log') {
          logged.push(m.args()[0]?.jsonValue() ?? Promise.resolve(undefined));
          onLog?.();
        } else consoleOther.push(`${m.type()}: ${m.text()}`);
      });
    } catch (error) {
      setupError = error;
    }
  });

  afterAll(async () => {
    const steps: Array<() => Promise<unknown>> = [
      async () => browser?.close(),
      async () => {
        if (!site) return;
        site.server.closeAllConnections();
        await new Promise<void>((resolve) => site!.server.close(() => resolve()));
      },
      async () => corral?.close(),
      async () => { if (dataDir) rmSync(dataDir, { recursive: true, force: true }); },
    ];
    for (const step of steps) {
      try {
        await Promise.race([step(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
      } catch {
        // keep closing the rest
      }
    }
  });

  it('is one short ```js block that talks to the default address', () => {
    const snippet = readmeSnippet();
    expect(snippet.trimEnd().split('\n').length).toBeLessThanOrEqual(10);
    expect(snippet).toContain(README_NODE);
  });

  it('logs the watch events of writes under /app, made from Node, in order', { timeout: 45_000 }, async () => {
    ready();
    const snippet = readmeSnippet().replaceAll(README_NODE, corral!.url);
    html = pageFor(snippet);
    const failure = () => `page errors: ${pageErrors.join('; ') || 'none'}; console: ${consoleOther.join('; ') || 'none'}`;

    // The snippet sets its watch, then opens its EventSource: wait for both answers.
    const watchSet = page!.waitForResponse((r) => r.request().method() === 'POST' && /\/v1\/sessions\/\d+\/watches$/.test(r.url()), { timeout: WAIT_MS });
    const streamOpen = page!.waitForResponse((r) => /\/v1\/sessions\/\d+\/events\?token=/.test(r.url()), { timeout: WAIT_MS });
    await page!.goto(site!.origin, { timeout: WAIT_MS });
    try {
      expect((await watchSet).status(), 'addWatch from the page').toBe(201);
      expect((await streamOpen).status(), 'the EventSource request').toBe(200);
    } catch (error) {
      throw new Error(`the snippet did not set its watch and open its stream: ${String(error)}; ${failure()}`);
    }

    // Writes from Node, straight to Corral.
    const expected: Logged[] = [];
    const write = async (method: 'POST' | 'PUT' | 'DELETE', path: string, data?: string, watched = true) => {
      const res = await fetch(`${corral!.url}/v1/znodes${path}`, { method, body: data, signal: AbortSignal.timeout(WAIT_MS) });
      const text = await res.text();
      expect(res.status, `${method} ${path}: ${text}`).toBe(method === 'POST' ? 201 : method === 'PUT' ? 200 : 204);
      if (!watched) return;
      if (method === 'DELETE') expected.push({ type: 'NodeDeleted', path, zxid: res.headers.get('zk-zxid')! });
      else {
        const { stat } = JSON.parse(text) as { stat: { czxid: string; mzxid: string } };
        expected.push(method === 'POST' ? { type: 'NodeCreated', path, zxid: stat.czxid } : { type: 'NodeDataChanged', path, zxid: stat.mzxid });
      }
    };
    await write('POST', '/app', 'v0');
    await write('POST', '/app/x', 'x0');
    await write('POST', '/elsewhere', 'not watched', false);
    await write('PUT', '/app/x', 'x1');
    await write('POST', '/application', 'a sibling, not under /app', false);
    await write('DELETE', '/app/x');
    await write('PUT', '/app', 'v1');
    await write('DELETE', '/app');

    // console.log calls reach Node as 'console' events, in order.
    await untilLogged(expected.length);
    const seen = await Promise.all(logged);
    expect(seen, `console.log of the page; ${failure()}`).toEqual(expected);
    expect(pageErrors, 'uncaught errors in the page').toEqual([]);
  });
});

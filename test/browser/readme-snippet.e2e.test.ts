/**
 * The README's browser snippets ("### In a browser", its ```js blocks) must really work: Chromium
 * (playwright-core) loads a page from another origin that runs exactly that block as a module
 * script (it uses top-level await), with only the node's address replaced by the test server's.
 * Its console.log calls are captured; writes under /app made from Node must show up there as
 * the watch events `{type, path, zxid}` they caused, in order, and nothing else. The second block,
 * for a node with --auth-required, runs against such a node: its page sends its own Authorization
 * header (a CORS preflight must allow it), and the first block is refused there.
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

/** The ```js blocks of the README's "### In a browser" section: the snippet, then its --auth-required variant. */
function readmeSnippets(): { open: string; authRequired: string } {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = /^### In a browser\n([\s\S]*?)(?=^#{1,3} )/m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "### In a browser" section');
  const blocks = [...section.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  if (blocks.length !== 2) throw new Error(`"### In a browser" should hold two \`\`\`js blocks (open, --auth-required), found ${blocks.length}`);
  return { open: blocks[0]!, authRequired: blocks[1]! };
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

/** The credentials of the --auth-required variant: the identity its page acts as. */
const SNIPPET_BASIC = `Basic ${Buffer.from('app:S3cret').toString('base64')}`;
/** The identity Node writes as on the node with --auth-required. */
const WRITER_BASIC = `Basic ${Buffer.from('writer:pw').toString('base64')}`;

/**
 * One Corral node, a page server on another origin and Chromium, started before the describe's
 * tests and closed after them. Each `load` opens a fresh page running a snippet; its console.log
 * arguments are collected in call order.
 */
function snippetHarness(node: { authRequired: boolean }) {
  let dataDir: string | undefined;
  let site: { server: HttpServer; origin: string } | undefined;
  let browser: Browser | undefined;
  let html = '';
  let setupError: unknown;
  const h = {
    corral: undefined as RunningServer | undefined,
    page: undefined as Page | undefined,
    pageErrors: [] as string[],
    consoleOther: [] as string[],
    /** console.log arguments, in call order (each resolved from the page as JSON). */
    logged: [] as Array<Promise<unknown>>,
    onLog: undefined as (() => void) | undefined,
    origin: () => site!.origin,
    ready: () => {
      if (setupError) throw setupError;
    },
    failure: () => `page errors: ${h.pageErrors.join('; ') || 'none'}; console: ${h.consoleOther.join('; ') || 'none'}`,
    /** A fresh page that will run `snippet` (with the node's address put in) when it goes to the site. */
    async load(snippet: string): Promise<Page> {
      h.ready();
      await h.page?.close();
      h.pageErrors.length = 0;
      h.consoleOther.length = 0;
      h.logged.length = 0;
      html = pageFor(snippet.replaceAll(README_NODE, h.corral!.url));
      const page = await browser!.newPage();
      h.page = page;
      page.setDefaultTimeout(WAIT_MS);
      page.on('pageerror', (e) => h.pageErrors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'log') {
          h.logged.push(m.args()[0]?.jsonValue() ?? Promise.resolve(undefined));
          h.onLog?.();
        } else h.consoleOther.push(`${m.type()}: ${m.text()}`);
      });
      return page;
    },
    /** Resolves once the page has logged `count` times; false after WAIT_MS. */
    untilLogged: (count: number) => new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), WAIT_MS);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        h.onLog = undefined;
        resolve(ok);
      };
      h.onLog = () => { if (h.logged.length >= count) finish(true); };
      h.onLog();
    }),
  };

  beforeAll(async () => {
    try {
      if (!existsSync(CHROMIUM)) {
        throw new Error(`Chromium is missing at ${CHROMIUM}: this test needs a real browser. `
          + 'Install it with `bash .ci/install-chromium.sh` (Debian: apt-get install -y chromium).');
      }
      site = await listenStatic(() => html);
      dataDir = mkdtempSync(join(tmpdir(), 'corral-readme-browser-'));
      h.corral = await startServer({ dataDir, port: 0, host: '127.0.0.1', corsOrigins: [site.origin], authRequired: node.authRequired });
      browser = await launchChromium();
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
      async () => h.corral?.close(),
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

  return h;
}

/**
 * Runs `snippet` in a fresh page, makes writes under /app and elsewhere from Node (with
 * `authorization` if given), and expects the page to log exactly the watch events of those under
 * /app, in order. `pageAuthorization` is what the page's own calls must carry (checked on the
 * requests Chromium sent: the page sends it itself, through CORS).
 */
async function expectWatchEventsLogged(
  h: ReturnType<typeof snippetHarness>, snippet: string, authorization?: string, pageAuthorization?: string,
): Promise<void> {
  const page = await h.load(snippet);
  // The snippet sets its watch, then opens its EventSource: wait for both answers.
  const watchSet = page.waitForResponse((r) => r.request().method() === 'POST' && /\/v1\/sessions\/\d+\/watches$/.test(r.url()), { timeout: WAIT_MS });
  const streamOpen = page.waitForResponse((r) => /\/v1\/sessions\/\d+\/events\?token=/.test(r.url()), { timeout: WAIT_MS });
  streamOpen.catch(() => undefined); // awaited below unless the watch fails first
  await page.goto(h.origin(), { timeout: WAIT_MS });
  try {
    const watchResponse = await watchSet;
    expect(watchResponse.status(), 'addWatch from the page').toBe(201);
    expect((await streamOpen).status(), 'the EventSource request').toBe(200);
    if (pageAuthorization !== undefined) {
      expect(await watchResponse.request().headerValue('authorization'), 'the page\'s own Authorization header').toBe(pageAuthorization);
    }
  } catch (error) {
    throw new Error(`the snippet did not set its watch and open its stream: ${String(error)}; ${h.failure()}`);
  }

  // Writes from Node, straight to Corral.
  const corral = h.corral!;
  const expected: Logged[] = [];
  const write = async (method: 'POST' | 'PUT' | 'DELETE', path: string, data?: string, watched = true) => {
    const headers = authorization === undefined ? undefined : { authorization };
    const res = await fetch(`${corral.url}/v1/znodes${path}`, { method, body: data, headers, signal: AbortSignal.timeout(WAIT_MS) });
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
  await h.untilLogged(expected.length);
  const seen = await Promise.all(h.logged);
  expect(seen, `console.log of the page; ${h.failure()}`).toEqual(expected);
  expect(h.pageErrors, 'uncaught errors in the page').toEqual([]);
}

describe('README: the browser snippet', () => {
  const h = snippetHarness({ authRequired: false });

  it('is one short ```js block that talks to the default address', () => {
    const { open } = readmeSnippets();
    expect(open.trimEnd().split('\n').length).toBeLessThanOrEqual(10);
    expect(open).toContain(README_NODE);
  });

  it('logs the watch events of writes under /app, made from Node, in order', { timeout: 45_000 }, async () => {
    await expectWatchEventsLogged(h, readmeSnippets().open);
  });
});

describe('README: the browser snippet on a node with --auth-required', () => {
  const h = snippetHarness({ authRequired: true });

  it('has a short variant that talks to the default address with Basic credentials', () => {
    const { authRequired } = readmeSnippets();
    expect(authRequired.trimEnd().split('\n').length).toBeLessThanOrEqual(10);
    expect(authRequired).toContain(README_NODE);
    expect(authRequired).toContain("btoa('app:S3cret')");
  });

  it('is needed: the open snippet\'s session request is refused with 401', { timeout: 30_000 }, async () => {
    const page = await h.load(readmeSnippets().open);
    const opened = page.waitForResponse((r) => r.request().method() === 'POST' && /\/v1\/sessions$/.test(r.url()), { timeout: WAIT_MS });
    await page.goto(h.origin(), { timeout: WAIT_MS });
    expect((await opened).status(), `POST /v1/sessions without credentials; ${h.failure()}`).toBe(401);
  });

  it('logs the same watch events, the page sending its credentials through CORS', { timeout: 45_000 }, async () => {
    await expectWatchEventsLogged(h, readmeSnippets().authRequired, WRITER_BASIC, SNIPPET_BASIC);
  });
});

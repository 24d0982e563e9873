/**
 * The client as another project gets it: the package is built (`npm run build:client`, into a
 * folder of this test's own) and packed (`npm pack`: `files`, `exports`), the tarball unpacked
 * into a fresh project's node_modules, with the client's two runtime dependencies beside it (no
 * registry: linked from this checkout). That project's strict TypeScript must type-check with
 * moduleResolution node16 and bundler, its compiled script must create and read znodes on a live
 * node from Node — the README's client example included, as written — and the browser bundle
 * must do a write and a watch, and take a contended Lock, in real Chromium.
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.ts';
import { REPO_ROOT } from '../support/corral-process.ts';
import { CHROMIUM, launchChromium } from '../support/chromium.ts';

const run = promisify(execFile);
const STEP_TIMEOUT_MS = 60_000;
/** What the packed client needs at run time (and @types/node for the consumer's own script). */
const LINKED = ['openapi-fetch', 'openapi-typescript-helpers', 'eventsource-parser', '@types/node', 'undici-types'];

/** The consumer's code: imports as the README shows them. */
const APP = `import { CorralClient, CorralError, type ZnodeStat } from 'corral/client';

const client = new CorralClient({ urls: [process.argv[2]!], retryForMs: 2000 });
const created: string = await client.create('/from-package', 'hello');
const text: { data: string; version: number } = await client.getData('/from-package', { as: 'string' });
await client.create('/from-package-bytes', new Uint8Array([0, 255, 128]));
const bytes: Uint8Array = (await client.getData('/from-package-bytes')).data;
const stat: ZnodeStat = await client.setData('/from-package', 'hello again', { version: 0 });
let missing = '';
try {
  await client.getData('/nowhere');
} catch (error) {
  if (error instanceof CorralError) missing = error.code;
}
console.log(JSON.stringify({ created, text, bytes: [...bytes], version: stat.version, missing, zxid: String(client.lastZxid) }));
`;

/** The README's example: the first ts block of its "## The client" section. */
function readmeExample(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## The client\n'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README has no ts block under "## The client"');
  return block[1]!;
}

const TSCONFIG_BASE = { strict: true, target: 'ES2022', skipLibCheck: false, noUncheckedIndexedAccess: true, types: ['node'] };

let dir: string;
let consumer: string;
let server: RunningServer;
let setupError: unknown;

async function setup(): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'corral-package-'));
  const stage = join(dir, 'stage');
  mkdirSync(stage);
  await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'build-client.ts'), '--out', join(stage, 'dist', 'client')],
    { cwd: REPO_ROOT, timeout: STEP_TIMEOUT_MS });
  cpSync(join(REPO_ROOT, 'package.json'), join(stage, 'package.json'));
  cpSync(join(REPO_ROOT, 'README.md'), join(stage, 'README.md'));
  await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: stage, timeout: STEP_TIMEOUT_MS });
  const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack made no tarball');

  consumer = join(dir, 'consumer');
  const installed = join(consumer, 'node_modules', 'corral');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', join(dir, tarball), '-C', installed, '--strip-components=1'], { timeout: STEP_TIMEOUT_MS });
  for (const name of LINKED) {
    mkdirSync(dirname(join(consumer, 'node_modules', name)), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules', name), join(consumer, 'node_modules', name), 'dir');
  }
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { corral: `file:${tarball}` } }));
  writeFileSync(join(consumer, 'app.ts'), APP);
  writeFileSync(join(consumer, 'readme-example.ts'), readmeExample());
  writeFileSync(join(consumer, 'tsconfig.node16.json'), JSON.stringify({
    compilerOptions: { ...TSCONFIG_BASE, module: 'node16', moduleResolution: 'node16', outDir: 'out' }, files: ['app.ts', 'readme-example.ts'],
  }));
  writeFileSync(join(consumer, 'tsconfig.bundler.json'), JSON.stringify({
    compilerOptions: { ...TSCONFIG_BASE, module: 'ESNext', moduleResolution: 'bundler', noEmit: true }, files: ['app.ts', 'readme-example.ts'],
  }));
  server = await startServer({ dataDir: join(dir, 'data'), port: 0, host: '127.0.0.1' });
}

beforeAll(async () => {
  try {
    await setup();
  } catch (error) {
    setupError = error;
  }
}, 4 * STEP_TIMEOUT_MS);

afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ready = () => {
  if (setupError) throw setupError;
};

/** Runs the repo's tsc on one of the consumer's configs; resolves with its output (rejects on errors). */
async function typecheck(config: string): Promise<void> {
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', config], { cwd: consumer, timeout: STEP_TIMEOUT_MS }).catch((error: { stdout?: string }) => {
    throw new Error(`tsc -p ${config} failed:\n${error.stdout ?? String(error)}`);
  });
}

describe('the client package from another project (Node)', () => {
  it('ships only the built client, with exports for Node, types and the browser', () => {
    ready();
    const installed = join(consumer, 'node_modules', 'corral');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    expect(Object.keys(manifest.exports)).toEqual(expect.arrayContaining(['./client', './client/browser']));
    expect(existsSync(join(installed, 'dist', 'client', 'index.d.ts'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
  });

  it('type-checks a strict consumer with moduleResolution node16 and with bundler', async () => {
    ready();
    await typecheck('tsconfig.bundler.json');
    await typecheck('tsconfig.node16.json');
    expect(existsSync(join(consumer, 'out', 'app.js'))).toBe(true);
  }, 2 * STEP_TIMEOUT_MS);

  it('runs from Node: creates and reads znodes on a live node, text and bytes exactly as given', async () => {
    ready();
    if (!existsSync(join(consumer, 'out', 'app.js'))) await typecheck('tsconfig.node16.json');
    const { stdout } = await run(process.execPath, [join(consumer, 'out', 'app.js'), server.url], { cwd: consumer, timeout: STEP_TIMEOUT_MS });
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      created: '/from-package', text: { data: 'hello', version: 0 }, bytes: [0, 255, 128], version: 1, missing: 'NONODE',
    });
    expect(BigInt(result.zxid as string)).toBeGreaterThan(0n);
    const raw = await fetch(`${server.url}/v1/znodes/from-package`, { headers: { accept: 'application/octet-stream' } });
    expect(await raw.text()).toBe('hello again');
  }, 2 * STEP_TIMEOUT_MS);

  it('runs the README\'s client example as written, printing what its comments say', async () => {
    ready();
    if (!existsSync(join(consumer, 'out', 'readme-example.js'))) await typecheck('tsconfig.node16.json');
    const { stdout } = await run(process.execPath, [join(consumer, 'out', 'readme-example.js')], {
      cwd: consumer, timeout: STEP_TIMEOUT_MS, env: { ...process.env, CORRAL_URL: server.url },
    });
    expect(stdout.trim().split('\n')).toEqual(["hello [ 0, 255 ] [ 'NodeDataChanged' ]", 'BADVERSION 409']);
  }, 2 * STEP_TIMEOUT_MS);
});

/** The page: an ES module that imports the bundle and does a write and a watch through a session. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Corral client bundle</title>
<script type="module">
  import { CorralClient, CorralSession } from './corral-client.browser.js';
  const corral = new URLSearchParams(location.search).get('corral');
  window.result = (async () => {
    const client = new CorralClient({ baseUrl: corral });
    const created = await client.create('/web', 'from the browser');
    const session = await CorralSession.open(client, 10000);
    const fired = [];
    await session.request('/v1/znodes/web?watch=true', {}, { path: '/web', callback: (e) => fired.push(e.type + ' ' + e.path) });
    // Made through the session: it returns only once the stream delivered the event it caused.
    await session.request('/v1/znodes/web', { method: 'PUT', body: 'changed' });
    const firedBeforeAnswer = [...fired];
    const read = await client.getData('/web', { as: 'string' });
    await session.close();
    return { created, firedBeforeAnswer, data: read.data, ended: session.ended };
  })().catch((e) => ({ failed: String(e && e.stack || e) }));
</script>
`;

/**
 * The lock page: two sessions of one page contend for a Lock from the bundle. A holds it; B queues
 * (seen through a child watch on the lock node firing in the page, not a sleep) and must not get it
 * until A releases; B's fencing token is larger, and a FencingGuard then refuses A's.
 */
const LOCK_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Corral lock in the browser</title>
<script type="module">
  import { CorralClient, CorralSession, FencingGuard, Lock } from './corral-client.browser.js';
  const corral = new URLSearchParams(location.search).get('corral');
  window.result = (async () => {
    const client = new CorralClient({ baseUrl: corral });
    const [a, b] = [await CorralSession.open(client, 10000), await CorralSession.open(client, 10000)];
    const steps = [];
    const first = await new Lock(a, '/web-locks/job').acquire({ timeoutMs: 10000 });
    steps.push('A holds');
    // The child watch is set (its answer is in) before B queues: sent together, B's create could
    // reach the node first on its own connection, and a watch set after it would never fire.
    let heard;
    const queued = new Promise((resolve) => (heard = resolve));
    const watching = await a.request('/v1/children/web-locks/job?watch=true', {}, {
      path: '/web-locks/job', callback: (e) => heard(e.type + ' ' + e.path),
    });
    await watching.body?.cancel();
    const second = new Lock(b, '/web-locks/job').acquire({ timeoutMs: 10000 }).then((lease) => (steps.push('B holds'), lease));
    const childWatch = await queued;
    const children = await (await a.request('/v1/children/web-locks/job')).json();
    steps.push(children.children.length + ' nodes queued');
    steps.push('A releases');
    await first.release();
    const lease = await second;
    const guard = new FencingGuard();
    const admitted = [guard.admit(first.token), guard.admit(lease.token), guard.admit(first.token)];
    await lease.release();
    await Promise.all([a.close(), b.close()]);
    return { steps, childWatch, tokensIncrease: lease.token > first.token, admitted };
  })().catch((e) => ({ failed: String(e && e.stack || e) }));
</script>
`;

describe('the client package in a browser (the bundle in Chromium)', () => {
  let site: { server: HttpServer; origin: string } | undefined;
  let corsServer: RunningServer | undefined;
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
    if (site) {
      site.server.closeAllConnections();
      await new Promise<void>((resolve) => site!.server.close(() => resolve()));
    }
    await corsServer?.close();
  });

  it('needs no Node built-ins', () => {
    ready();
    const bundle = readFileSync(join(consumer, 'node_modules', 'corral', 'dist', 'client', 'corral-client.browser.js'), 'utf8');
    expect(bundle).not.toMatch(/from\s*["'](node:|fs|http|crypto)/);
    expect(bundle).not.toMatch(/\brequire\(/);
  });

  /** Chromium, the page's site and a node that allows its origin: started by the first test that needs them. */
  async function started(): Promise<{ browser: Browser; origin: string; corral: string }> {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: install it with \`bash .ci/install-chromium.sh\`.`);
    if (!site) {
      const bundle = readFileSync(join(consumer, 'node_modules', 'corral', 'dist', 'client', 'corral-client.browser.js'));
      const pages: Record<string, string> = { '/': PAGE, '/lock': LOCK_PAGE };
      const server = createHttpServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0]!;
        if (pages[path]) res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(pages[path]);
        else if (path === '/corral-client.browser.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
        else res.writeHead(404).end();
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      site = { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    }
    corsServer ??= await startServer({ dataDir: join(dir, 'browser-data'), port: 0, host: '127.0.0.1', corsOrigins: [site.origin] });
    browser ??= await launchChromium();
    return { browser, origin: site.origin, corral: corsServer.url };
  }

  /** Opens `path` of the site in a new page and answers what its script put in `window.result`, and the page's errors. */
  async function runPage(path: string): Promise<{ result: unknown; pageErrors: string[] }> {
    const { browser, origin, corral } = await started();
    const page = await browser.newPage();
    try {
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      await page.goto(`${origin}${path}?corral=${encodeURIComponent(corral)}`, { timeout: 10_000 });
      await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 10_000 });
      const result = await page.evaluate(() => (window as unknown as { result: Promise<unknown> }).result);
      return { result, pageErrors };
    } finally {
      await page.close();
    }
  }

  it('writes and watches from a page on another origin, the watch event arriving before the write\'s answer', async () => {
    ready();
    const { result, pageErrors } = await runPage('/');
    expect(pageErrors).toEqual([]);
    expect(result).toEqual({ created: '/web', firedBeforeAnswer: ['NodeDataChanged /web'], data: 'changed', ended: 'closed' });
  }, 60_000);

  it('takes a Lock from the bundle in two sessions of a page: the second gets it only after the first releases, with a larger fencing token', async () => {
    ready();
    const { result, pageErrors } = await runPage('/lock');
    expect(pageErrors).toEqual([]);
    expect(result).toEqual({
      steps: ['A holds', '2 nodes queued', 'A releases', 'B holds'],
      childWatch: 'NodeChildrenChanged /web-locks/job',
      tokensIncrease: true,
      admitted: [true, true, false],
    });
  }, 60_000);
});

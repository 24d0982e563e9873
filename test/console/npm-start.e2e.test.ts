/**
 * The README's "npm ci && npm start" brings the console up: in a copy of the repository's
 * sources with no dist/ (a fresh clone after `npm ci`: node_modules linked, nothing built),
 * `npm start` builds the console as well as the server, and the node it starts serves /ui, which
 * Chromium opens live. The copy lives under .vitest-tmp/; the npm process group is killed after.
 *
 * Needs Chromium at /usr/bin/chromium (`bash .ci/install-chromium.sh`); fails, never skips, without it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, http, makeTempDir, removeDir, REPO_ROOT, waitFor } from '../support/corral-process.ts';
import { CHROMIUM, launchChromium, openPage } from './browser.ts';

/** What a clone holds that `npm start` reads: the sources, the contract, the manifests. */
const COPIED = ['package.json', 'package-lock.json', 'tsconfig.json', 'openapi.yaml', 'src', 'console', 'scripts'];
/** Both builds and the start, on a loaded 2-core machine. */
const START_MS = 150_000;
const EXIT_MS = 10_000;

describe('npm start in a fresh checkout', () => {
  let stage: string;
  let dataDir: string;
  let npm: ChildProcess | undefined;
  let output = '';
  let browser: Browser | undefined;

  beforeAll(() => {
    expect(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM}: bash .ci/install-chromium.sh`).toBe(true);
    mkdirSync(join(REPO_ROOT, '.vitest-tmp'), { recursive: true });
    stage = mkdtempSync(join(REPO_ROOT, '.vitest-tmp', 'fresh-checkout-'));
    for (const name of COPIED) cpSync(join(REPO_ROOT, name), join(stage, name), { recursive: true });
    symlinkSync(realpathSync(join(REPO_ROOT, 'node_modules')), join(stage, 'node_modules'));
    dataDir = makeTempDir('corral-npm-start-');
  });

  afterAll(async () => {
    await browser?.close();
    if (npm?.pid !== undefined && npm.exitCode === null && npm.signalCode === null) {
      const exited = new Promise((resolve) => npm!.once('exit', resolve));
      process.kill(-npm.pid, 'SIGKILL'); // npm, its shell and node: the group started below
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, EXIT_MS))]);
    }
    removeDir(dataDir);
    removeDir(stage);
  });

  it('builds the console and serves it at /ui, live in Chromium', async () => {
    expect(existsSync(join(stage, 'dist'))).toBe(false);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    npm = spawn('npm', ['start', '--', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'warn'], {
      cwd: stage, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    npm.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    npm.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const gone = () => npm!.exitCode !== null || npm!.signalCode !== null;
    const outcome = await waitFor(async () => {
      if (gone()) return 'exited' as const;
      return (await http('GET', `${base}/healthz`).catch(() => ({ status: 0 }))).status === 200 && ('up' as const);
    }, { timeoutMs: START_MS, what: `npm start to serve ${base}` });
    expect(outcome, `npm start exited: ${output}`).toBe('up');

    const built = readdirSync(join(stage, 'dist', 'console'));
    expect(built).toContain('index.html');
    expect(built.some((name) => /^main-[A-Z0-9]+\.js$/.test(name)), built.join(', ')).toBe(true);
    expect((await http('POST', `${base}/v1/znodes/from-readme`, 'x')).status).toBe(201);

    browser = await launchChromium();
    const { page, problems } = await openPage(browser);
    await page.goto(`${base}/ui#/from-readme`);
    await expect.poll(() => page.getByTestId('live-status').textContent(), { timeout: 15_000 }).toBe('live');
    await expect.poll(() => page.getByTestId('data-text').inputValue(), { timeout: 15_000 }).toBe('x');
    await page.locator('[data-path="/from-readme"]').waitFor();
    expect(problems).toEqual([]);
  }, START_MS + 60_000);
});

/**
 * GET /ui and /ui/{file} (src/http/routes/ui.ts): the console's files from the bundle's folder,
 * with content types, caching and a strict Content-Security-Policy; only names the folder holds;
 * a clear 404 naming the build command when the bundle is missing; reachable without credentials
 * on a node with --auth-required (the page is where the user logs in), while the API is not.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, uiHandlers } from '../../src/http/routes/ui.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';
import { ensureConsoleBuilt } from './console-bundle.ts';

/** The ui handler alone over a folder of the test's making. */
function appOver(dir: string): Hono {
  const app = new Hono({ strict: false });
  const { ui } = uiHandlers({ dir });
  app.get('/ui', ui);
  app.get('/ui/*', ui);
  return app;
}

describe('the console route over a bundle folder', () => {
  let dir: string;
  let app: Hono;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'corral-ui-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(dir, 'main-ABCDEFGH.js'), 'export {};');
    writeFileSync(join(dir, 'main-ABCDEFGH.css'), 'body{}');
    writeFileSync(join(dir, '.hidden'), 'secret');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'x.js'), 'nested');
    app = appOver(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves index.html at /ui and /ui/ with a strict CSP, revalidated on every load', async () => {
    for (const url of ['/ui', '/ui/', '/ui/index.html']) {
      const res = await app.request(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).toContain('<title>t</title>');
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
  });

  it('serves hashed files with their content types, cached for good', async () => {
    const js = await app.request('/ui/main-ABCDEFGH.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const css = await app.request('/ui/main-ABCDEFGH.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toBe('body{}');
  });

  it('answers 304 to an If-None-Match with the file\'s ETag, 200 again once the file changed', async () => {
    const first = await app.request('/ui');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect((await app.request('/ui', { headers: { 'If-None-Match': etag } })).status).toBe(304);
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>rebuilt, longer</title>');
    const again = await app.request('/ui', { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('rebuilt');
  });

  it.each([
    ['/ui/nope.js', 'a name the bundle does not hold'],
    ['/ui/.hidden', 'a dot-file'],
    ['/ui/sub', 'a folder'],
    ['/ui/sub/x.js', 'a nested path'],
    ['/ui/..%2Fpackage.json', 'an encoded parent reference'],
    ['/ui/index.html%00', 'a NUL after a real name'],
  ])('refuses %s (%s) with 404 UNIMPLEMENTED', async (url) => {
    const res = await app.request(url);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'UNIMPLEMENTED', zkCode: -6 });
  });

  it('answers 404 UNIMPLEMENTED naming the build command when the bundle is missing', async () => {
    const missing = appOver(join(dir, 'not-built'));
    const res = await missing.request('/ui');
    expect(res.status).toBe(404);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('UNIMPLEMENTED');
    expect(body.message).toContain('npm run build:console');
  });
});

describe('the console on a node', () => {
  let node: TestNode;

  beforeAll(async () => {
    await ensureConsoleBuilt();
    node = startTestNode({ authRequired: true });
  });
  afterAll(() => node.close());

  it('serves the built console without credentials under --auth-required, while the API answers 401', async () => {
    const page = await node.app.request('/ui');
    expect(page.status).toBe(200);
    const html = await page.text();
    const script = /src="\/ui\/(main-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await node.app.request(`/ui/${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const api = await node.app.request('/v1/znodes');
    expect(api.status).toBe(401);
    expect(api.headers.get('www-authenticate')).toBeTruthy();
  });

  it('answers 405 to a write on /ui', async () => {
    const res = await node.app.request('/ui', { method: 'POST' });
    expect(res.status).toBe(405);
  });
});

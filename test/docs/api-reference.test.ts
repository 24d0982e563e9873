/**
 * The API reference in-process (app.request, no sockets): the page and the files it names, their
 * types, caching and Content-Security-Policy, and the spec stamped with the package's version and
 * the origin the request reached. test/docs/api-reference.e2e.test.ts runs it in Chromium.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DOCS_CSP } from '../../src/http/routes/docs.ts';
import { packageFile } from '../../src/package-root.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';

const packageVersion = (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;

/** The `/docs/assets/…` URLs a page names in src= and href=. */
const assetUrls = (html: string): string[] => [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((u) => u !== '/openapi.yaml');

let t: TestNode;
beforeAll(() => {
  t = startTestNode();
});
afterAll(async () => {
  await t.close();
});

describe('GET /docs', () => {
  it('answers Swagger UI under a policy that allows only this origin and no inline script', async () => {
    const page = await t.request('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(DOCS_CSP);
    expect(DOCS_CSP).toContain("default-src 'none'");
    expect(DOCS_CSP).toContain("script-src 'self'");
    expect(DOCS_CSP).toContain("connect-src 'self'");
    expect(DOCS_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(page.body).toContain('<div id="swagger-ui"></div>');
    // No inline script or style: every <script> has a src, no style attribute or element.
    expect(page.body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=/);
  });

  it('names only files of its own, each with its content hash', async () => {
    const urls = assetUrls((await t.request('GET', '/docs')).body as string);
    expect(urls.length).toBeGreaterThanOrEqual(4);
    for (const url of urls) expect(url).toMatch(/^\/docs\/assets\/[a-z0-9.-]+\?v=[A-Za-z0-9_-]{16}$/);
  });
});

describe('GET /docs/assets/{file}', () => {
  it('serves every file the page names, with its type, the page policy and an immutable cache', async () => {
    const urls = assetUrls((await t.request('GET', '/docs')).body as string);
    const types = new Set<string>();
    for (const url of urls) {
      const file = await t.request('GET', url);
      expect(file.status, url).toBe(200);
      types.add(file.headers.get('content-type')!.split(';')[0]!);
      expect(file.headers.get('cache-control'), url).toBe('public, max-age=31536000, immutable');
      expect(file.headers.get('content-security-policy'), url).toBe(DOCS_CSP);
      expect(file.headers.get('x-content-type-options'), url).toBe('nosniff');
      expect(file.bytes.byteLength, url).toBeGreaterThan(0);
    }
    expect([...types].sort()).toEqual(['image/png', 'text/css', 'text/javascript']);
  });

  it('serves Swagger UI from the installed swagger-ui-dist package', async () => {
    const bundle = await t.request('GET', '/docs/assets/swagger-ui-bundle.js');
    const installed = readFileSync(packageFile('node_modules/swagger-ui-dist/swagger-ui-bundle.js'));
    expect(Buffer.from(bundle.bytes).equals(installed)).toBe(true);
  });

  it('revalidates a URL without the content hash, and answers 304 to its ETag', async () => {
    const first = await t.request('GET', '/docs/assets/swagger-ui.css');
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{16}"$/);
    const again = await t.request('GET', '/docs/assets/swagger-ui.css', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.bytes.byteLength).toBe(0);
    const stale = await t.request('GET', '/docs/assets/swagger-ui.css?v=AAAAAAAAAAAAAAAA');
    expect(stale.headers.get('cache-control')).toBe('no-cache');
  });

  it('sends scripts gzipped to a client that accepts gzip, and plain to one that does not', async () => {
    const plain = await t.request('GET', '/docs/assets/swagger-ui-bundle.js');
    const gzipped = await t.request('GET', '/docs/assets/swagger-ui-bundle.js', { headers: { 'accept-encoding': 'br, gzip;q=0.8' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    expect(gzipped.headers.get('vary')).toContain('Accept-Encoding');
    expect(gzipped.bytes.byteLength).toBeLessThan(plain.bytes.byteLength / 2);
    expect(gunzipSync(gzipped.bytes).equals(Buffer.from(plain.bytes))).toBe(true);
  });

  const refused = [
    ['a file the reference does not have', '/docs/assets/oauth2-redirect.html'],
    ['the package manifest', '/docs/assets/package.json'],
    ['an inherited property name', '/docs/assets/constructor'],
  ] as const;
  it.each(refused)('refuses %s with 404 UNIMPLEMENTED', async (_what, url) => {
    const res = await t.request('GET', url);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('UNIMPLEMENTED');
  });

  it('refuses a name that climbs out of the folder with 400 BADARGUMENTS (the edge check)', async () => {
    const res = await t.request('GET', '/docs/assets/..%2Fpackage.json');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BADARGUMENTS');
  });
});

describe('GET /openapi.yaml', () => {
  it('gives the package version, the one place it is written', async () => {
    const spec = parse((await t.request('GET', '/openapi.yaml')).body as string) as { info: { version: string } };
    expect(spec.info.version).toBe(packageVersion);
  });

  it('names the origin the request reached as its only server', async () => {
    const reply = await t.request('GET', '/openapi.yaml', { headers: { host: 'localhost:8181' } });
    expect(reply.headers.get('vary')).toContain('Host');
    const spec = parse(reply.body as string) as { servers: Array<{ url: string }> };
    expect(spec.servers).toHaveLength(1);
    expect(spec.servers[0]!.url).toBe('http://localhost:8181');
    const viaHeader = parse((await t.request('GET', '/openapi.yaml', { headers: { host: '[::1]:9000' } })).body as string);
    expect(viaHeader.servers[0].url).toBe('http://[::1]:9000');
  });

  it('sends the spec gzipped to a client that accepts gzip', async () => {
    const plain = await t.request('GET', '/openapi.yaml');
    const gzipped = await t.request('GET', '/openapi.yaml', { headers: { 'accept-encoding': 'gzip' }, unchecked: true });
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(gzipped.bytes).toString('utf8')).toBe(plain.body);
  });

  it('is the file byte for byte apart from the version and the servers', async () => {
    const served = (await t.request('GET', '/openapi.yaml')).body as string;
    const file = readFileSync(packageFile('openapi.yaml'), 'utf8');
    const withoutStamps = (text: string) => {
      const { servers: _servers, info, ...rest } = parse(text) as { servers: unknown; info: Record<string, unknown> };
      return { ...rest, info: { ...info, version: undefined } };
    };
    expect(withoutStamps(served)).toEqual(withoutStamps(file));
    // Comments and layout kept: only the lines of the two stamped values differ.
    expect(Math.abs(served.split('\n').length - file.split('\n').length)).toBeLessThan(10);
  });
});

describe('openapi.yaml as a file', () => {
  it('carries the package version too, for tools that read the file', () => {
    const spec = parse(readFileSync(packageFile('openapi.yaml'), 'utf8')) as { info: { version: string } };
    expect(spec.info.version).toBe(packageVersion);
  });
});

describe('the served spec on a node answering any Host', () => {
  it('never echoes a Host it cannot parse: it names the listen address instead', async () => {
    const open = startTestNode({ host: '0.0.0.0', port: 8999 });
    try {
      const reply = await open.request('GET', '/openapi.yaml', { headers: { host: 'evil"host: x' }, unchecked: true });
      expect(reply.status).toBe(200);
      const spec = parse(reply.body as string) as { servers: Array<{ url: string }>; security: unknown[] };
      expect(spec.servers).toEqual([{ url: 'http://0.0.0.0:8999', description: expect.any(String) }]);
      expect(spec.security.length).toBeGreaterThan(0);
    } finally {
      await open.close();
    }
  });
});

describe('the reference on a node with --auth-required', () => {
  let locked: TestNode;
  beforeAll(() => {
    locked = startTestNode({ authRequired: true });
  });
  afterAll(async () => {
    await locked.close();
  });

  it('serves the page, its files and the spec without credentials, while the API answers 401', async () => {
    const page = await locked.request('GET', '/docs');
    expect(page.status).toBe(200);
    for (const url of assetUrls(page.body as string)) expect((await locked.request('GET', url)).status, url).toBe(200);
    expect((await locked.request('GET', '/openapi.yaml')).status).toBe(200);
    expect((await locked.request('GET', '/v1/znodes')).status).toBe(401);
  });
});

/**
 * The API reference: GET /openapi.yaml (the spec, stamped with this node's origin and the
 * package's version: served-spec.ts), GET /docs (Swagger UI on that spec, "try it" against this
 * node) and GET /docs/assets/{file} (Swagger UI's files from the installed swagger-ui-dist
 * package, and the page's own start-up script). Nothing is fetched from anywhere else.
 *
 * Why Swagger UI: swagger-ui-dist ships prebuilt static files and has "Try it out"; Redoc has
 * no "try it", and Scalar's standalone build loads its fonts from a CDN unless told not to.
 *
 * Invariants: only the files named in ASSETS are served (a request names one of them, it is never
 * joined onto a path); every answer of the page and its files carries a Content-Security-Policy
 * that lets the page load and call only this origin and run no inline code (hence the start-up
 * script is a file); file contents never change while a process runs, so the page names each file
 * with its content hash (`?v=`) and that URL is cached for good, any other is revalidated (ETag).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Context } from 'hono';
import { zkError } from '../../core/errors.ts';
import type { AppDeps } from '../app-deps.ts';
import { errorResponse } from '../errors.ts';
import { originOf } from '../node-origin.ts';
import { servedSpec } from '../served-spec.ts';

/**
 * The page may load scripts, styles, fonts and images only from this origin (images also as
 * data: URLs, which Swagger UI's stylesheet uses for its icons) and send requests only to it.
 */
export const DOCS_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

export const DOCS_ASSETS_PREFIX = '/docs/assets/';

/** Starts Swagger UI on this node's spec; a file, as the CSP runs no inline script. */
const START_SCRIPT = `// Swagger UI on the spec of the node that served this page (its servers entry names this node).
window.ui = SwaggerUIBundle({
  url: '/openapi.yaml',
  dom_id: '#swagger-ui',
  deepLinking: true,
  // The default validator is an image from validator.swagger.io: nothing leaves this origin.
  validatorUrl: null,
  // Never ?url= or ?configUrl= from the address bar: a link cannot point the page at another spec.
  queryConfigEnabled: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

/** Where each served file comes from: swagger-ui-dist's folder, or this module. */
const ASSETS: Readonly<Record<string, { readonly dist: string } | { readonly text: string }>> = {
  'swagger-ui-bundle.js': { dist: 'swagger-ui-bundle.js' },
  'swagger-ui.css': { dist: 'swagger-ui.css' },
  'index.css': { dist: 'index.css' },
  'favicon-32x32.png': { dist: 'favicon-32x32.png' },
  'corral-docs.js': { text: START_SCRIPT },
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

/** Compressed once when at least this many bytes (the bundle: 1.8 MB, about a quarter gzipped). */
const GZIP_BYTES_MIN = 1024;
const IMMUTABLE = 'public, max-age=31536000, immutable';

interface Asset {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly gzipped: Uint8Array<ArrayBuffer> | undefined;
  readonly hash: string;
  readonly type: string;
}

/** swagger-ui-dist's folder, by the package's own getAbsoluteFSPath (which loads no bundle). */
function swaggerUiDir(): string {
  const absolutePath = createRequire(import.meta.url)('swagger-ui-dist/absolute-path.js') as () => string;
  return absolutePath();
}

const loaded = new Map<string, Asset>();

/** A served file, read (and compressed) on first use: the files do not change while a process runs. */
function assetOf(name: string): Asset | undefined {
  if (!Object.hasOwn(ASSETS, name)) return undefined;
  let asset = loaded.get(name);
  if (asset === undefined) {
    const source = ASSETS[name]!;
    const body = new Uint8Array('text' in source ? Buffer.from(source.text) : readFileSync(join(swaggerUiDir(), source.dist)));
    const type = CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';
    const gzipped = type.startsWith('text/') && body.byteLength >= GZIP_BYTES_MIN ? new Uint8Array(gzipSync(body)) : undefined;
    asset = { body, gzipped, type, hash: createHash('sha256').update(body).digest('base64url').slice(0, 16) };
    loaded.set(name, asset);
  }
  return asset;
}

/** An asset's URL on the page: its content hash makes it safe to cache for good. */
const assetUrl = (name: string): string => `${DOCS_ASSETS_PREFIX}${name}?v=${assetOf(name)!.hash}`;

let page: string | undefined;

function docsPage(): string {
  page ??= `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Corral HTTP API reference</title>
<link rel="stylesheet" href="${assetUrl('swagger-ui.css')}"><link rel="stylesheet" href="${assetUrl('index.css')}">
<link rel="icon" type="image/png" href="${assetUrl('favicon-32x32.png')}">
</head><body>
<noscript><p>This reference needs JavaScript. The API description itself is <a href="/openapi.yaml">/openapi.yaml</a>.</p></noscript>
<div id="swagger-ui"></div>
<script src="${assetUrl('swagger-ui-bundle.js')}"></script>
<script src="${assetUrl('corral-docs.js')}"></script>
</body></html>
`;
  return page;
}

/** What the page and its files answer with besides their type. */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': DOCS_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const accepts = (c: Context, coding: string): boolean =>
  (c.req.header('accept-encoding') ?? '').split(',').some((part) => part.trim().split(';')[0] === coding);

function serveAsset(c: Context): Response {
  const name = c.req.param('file') ?? '';
  const asset = assetOf(name);
  if (asset === undefined) return errorResponse(c, zkError('UNIMPLEMENTED', `the API reference has no file ${JSON.stringify(name.slice(0, 100))}`));
  const etag = `"${asset.hash}"`;
  const headers: Record<string, string> = {
    ...PAGE_HEADERS,
    'Content-Type': asset.type,
    'Cache-Control': c.req.query('v') === asset.hash ? IMMUTABLE : 'no-cache',
    ETag: etag,
    Vary: 'Accept-Encoding',
  };
  if (c.req.header('if-none-match')?.split(/\s*,\s*/).includes(etag)) return c.body(null, 304, headers);
  if (asset.gzipped !== undefined && accepts(c, 'gzip')) return c.body(asset.gzipped, 200, { ...headers, 'Content-Encoding': 'gzip' });
  return c.body(asset.body, 200, headers);
}

/** The spec, gzipped (130 kB to about 30) for a client that accepts it: made per request, it is asked for rarely. */
function serveSpec(c: Context, deps: AppDeps): Response {
  const text = servedSpec(originOf(c, deps.config));
  const headers: Record<string, string> = {
    'Content-Type': 'application/yaml; charset=utf-8',
    // Names the origin the request reached: a cache must not hand it to a request for another.
    'Cache-Control': 'no-cache',
    Vary: 'Host, Accept-Encoding',
    'X-Content-Type-Options': 'nosniff',
  };
  if (!accepts(c, 'gzip')) return c.body(text, 200, headers);
  return c.body(new Uint8Array(gzipSync(text)), 200, { ...headers, 'Content-Encoding': 'gzip' });
}

export function docsHandlers(deps: AppDeps) {
  return {
    spec: (c: Context) => serveSpec(c, deps),
    docs: (c: Context) => c.html(docsPage(), 200, { ...PAGE_HEADERS, 'Cache-Control': 'no-cache' }),
    docsAsset: serveAsset,
  };
}

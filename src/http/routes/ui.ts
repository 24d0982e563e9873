/**
 * GET /ui and /ui/{file}: the web console (sources in console/, bundled by
 * scripts/build-console.ts into dist/console/). Every node serves it; the page does everything
 * through the public HTTP API with the viewer's own credentials, so it can do nothing the viewer
 * may not, and its files hold no data (which is why they are served without credentials: the
 * console is also the log-in page, see caller.ts).
 *
 * Invariants: only names the build wrote into the bundle's folder are served (the request path is
 * compared against that list, never joined onto a file path); every answer carries a strict
 * Content-Security-Policy (scripts and styles from this origin only, no inline code, requests to
 * this origin only, no framing); index.html is revalidated on every load (ETag) and the other
 * files carry content hashes in their names, so they are cached for good.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Context } from 'hono';
import { zkError } from '../../core/errors.ts';
import { packageFile } from '../../package-root.ts';
import { errorResponse } from '../errors.ts';

export const CONSOLE_BUILD_COMMAND = 'npm run build:console';

/** What a page of the console may load and reach: this origin, nothing inline, nothing framed. */
export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "font-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** A bundle file name: a flat name the build could have written (no separators, no dot-files). */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
/** esbuild's `[name]-[hash]` names: their content never changes under the same name. */
const HASHED = /-[A-Z0-9]{8}\.[a-z]+$/;

interface Asset {
  readonly body: Uint8Array<ArrayBuffer>;
  readonly etag: string;
  readonly mtimeMs: number;
  readonly size: number;
}

export interface UiOptions {
  /** The bundle's folder (default: dist/console under the package root). */
  readonly dir?: string;
}

export function uiHandlers(options: UiOptions = {}) {
  const dir = options.dir ?? packageFile(join('dist', 'console'));
  const cache = new Map<string, Asset>();

  /** The file as it is on disk now (re-read when a rebuild changed it), or undefined. */
  const load = (name: string): Asset | undefined => {
    const file = join(dir, name);
    const info = statSync(file, { throwIfNoEntry: false });
    if (info === undefined || !info.isFile()) return undefined;
    const cached = cache.get(name);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached;
    const body = new Uint8Array(readFileSync(file));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    const asset = { body, etag, mtimeMs: info.mtimeMs, size: info.size };
    cache.set(name, asset);
    return asset;
  };

  const ui = (c: Context) => {
    if (!existsSync(join(dir, 'index.html'))) {
      return errorResponse(c, zkError('UNIMPLEMENTED', `the console is not built on this node: run \`${CONSOLE_BUILD_COMMAND}\` (npm ci and npm start run it)`));
    }
    const rest = c.req.path.replace(/^\/ui\/?/, '');
    const name = rest === '' ? 'index.html' : rest;
    // Listed, not joined: a name the folder does not hold is refused before any path is built.
    const asset = FILE_NAME.test(name) && readdirSync(dir).includes(name) ? load(name) : undefined;
    if (asset === undefined) return errorResponse(c, zkError('UNIMPLEMENTED', `the console has no file ${name}`));
    const headers: Record<string, string> = {
      'Content-Type': CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
      'Content-Security-Policy': CONSOLE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache',
      ETag: asset.etag,
    };
    if (c.req.header('if-none-match')?.split(/\s*,\s*/).includes(asset.etag)) return c.body(null, 304, headers);
    return c.body(asset.body, 200, headers);
  };

  return { ui };
}

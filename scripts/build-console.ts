/**
 * Builds the web console (`npm run build:console`; also run by `npm run build`, so `npm start`,
 * and by `prepare`, so `npm ci`): console/main.tsx (Preact) bundled by esbuild into
 *   dist/console/index.html          console/index.html with the bundle's names filled in
 *   dist/console/main-<hash>.js      the whole app, minified, no external imports
 *   dist/console/main-<hash>.css     its styles
 * Names carry content hashes, so the server lets browsers cache them for good and revalidates
 * only index.html (src/http/routes/ui.ts). The folder is built beside the old one and swapped
 * in, so a running node never serves a half-written bundle.
 * `--out <dir>` builds elsewhere (tests build their own copy).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const out = resolve(values.out ?? join(root, 'dist', 'console'));
const staging = `${out}.building-${process.pid}`;

rmSync(staging, { recursive: true, force: true });
const result = await build({
  entryPoints: [join(root, 'console', 'main.tsx')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  outdir: staging,
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
const script = outputs.find((name) => name.endsWith('.js'));
const style = outputs.find((name) => name.endsWith('.css'));
if (script === undefined || style === undefined) throw new Error(`the console build wrote no script or no style: ${outputs.join(', ')}`);
const page = readFileSync(join(root, 'console', 'index.html'), 'utf8').replace('%SCRIPT%', script).replace('%STYLE%', style);
writeFileSync(join(staging, 'index.html'), page);

rmSync(out, { recursive: true, force: true });
renameSync(staging, out);

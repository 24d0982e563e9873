/**
 * Builds the client package (`npm run build:client`, also run by `npm ci` through `prepare`):
 *   dist/client/index.js                  ESM for Node and bundlers (dependencies stay imports)
 *   dist/client/corral-client.browser.js  ESM for a browser page: everything bundled, needs only fetch + streams
 *   dist/client/*.d.ts                    the types, from tsc (tsconfig.client.json)
 * `--out <dir>` builds elsewhere (tests build their own copy, so parallel runs never share one).
 * tsc keeps the sources' `.ts` import specifiers in declarations; they are rewritten to `.js`
 * so a user's tsc (any moduleResolution) resolves them to the .d.ts files next to them.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type BuildOptions } from 'esbuild';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string' } } });
const out = resolve(values.out ?? join(root, 'dist', 'client'));
const entry = join(root, 'src', 'client', 'index.ts');

rmSync(out, { recursive: true, force: true });
const common: BuildOptions = { entryPoints: [entry], bundle: true, format: 'esm', target: 'es2022', logLevel: 'warning', legalComments: 'none' };
await build({ ...common, platform: 'neutral', packages: 'external', outfile: join(out, 'index.js') });
await build({ ...common, platform: 'browser', outfile: join(out, 'corral-client.browser.js') });

execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.client.json'), '--outDir', out], { stdio: 'inherit' });
for (const name of readdirSync(out).filter((file) => file.endsWith('.d.ts'))) {
  const file = join(out, name);
  writeFileSync(file, readFileSync(file, 'utf8').replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1.js$2'));
}

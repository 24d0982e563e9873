/**
 * The packed package carries the corral-cli bin and every source file it runs (the bin runs the
 * TypeScript sources through tsx), and every package those sources import is a runtime
 * dependency: `npm pack` then `npx corral-cli` works outside this checkout.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/corral-process.ts';

const run = promisify(execFile);

describe('the package of corral-cli', () => {
  it('packs the bin, every source file the CLI imports, and declares what they import as dependencies', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>; dependencies: Record<string, string>;
    };
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT, timeout: 60_000 });
    const packed = new Set((JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
    const bin = pkg.bin['corral-cli']!.replace(/^\.\//, '');
    expect(packed).toContain(bin);

    const { metafile } = await build({
      entryPoints: [join(REPO_ROOT, 'src/cli/main.ts')], absWorkingDir: REPO_ROOT, bundle: true, platform: 'node', format: 'esm',
      packages: 'external', write: false, metafile: true, logLevel: 'silent',
    });
    const sources = Object.keys(metafile.inputs);
    expect(sources.length).toBeGreaterThan(10);
    expect(sources.filter((file) => !packed.has(file))).toEqual([]);
    const imported = new Set(Object.values(metafile.inputs).flatMap((input) => input.imports)
      .filter((i) => i.external && !i.path.startsWith('node:')).map((i) => i.path.split('/').slice(0, i.path.startsWith('@') ? 2 : 1).join('/')));
    imported.add('tsx'); // what the bin itself runs
    expect([...imported].filter((name) => pkg.dependencies[name] === undefined)).toEqual([]);
  });
});

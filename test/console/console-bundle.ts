/**
 * The console bundle the node serves (dist/console), built when it is missing or older than a
 * source file of console/ — `npm ci` builds it (prepare), this only catches edited sources.
 * esbuild's output is deterministic, so a rebuild of unchanged sources writes the same names.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/corral-process.ts';

export const BUNDLE_DIR = join(REPO_ROOT, 'dist', 'console');
const SOURCES = join(REPO_ROOT, 'console');

const newest = (dir: string): number =>
  Math.max(...readdirSync(dir).map((name) => statSync(join(dir, name)).mtimeMs));

export async function ensureConsoleBuilt(): Promise<void> {
  const built = statSync(join(BUNDLE_DIR, 'index.html'), { throwIfNoEntry: false });
  if (built && built.mtimeMs >= newest(SOURCES)) return;
  execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'build-console.ts')], { cwd: REPO_ROOT, stdio: 'inherit', timeout: 120_000 });
}

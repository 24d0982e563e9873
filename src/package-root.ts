/**
 * Files shipped beside the code (openapi.yaml), found from the package root: the nearest folder
 * above this module holding package.json. So they resolve alike from src/ (run through tsx) and
 * from the bundle in dist/, whose modules sit at another depth.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  const from = fileURLToPath(import.meta.url);
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** A file at the package root, e.g. `openapi.yaml`. */
export function packageFile(name: string): string {
  return join(packageRoot(), name);
}

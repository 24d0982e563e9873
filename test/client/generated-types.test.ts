import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/corral-process.ts';

describe('the typed client', () => {
  it('is generated from the current openapi.yaml (npm run generate:client)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-types-'));
    try {
      const out = join(dir, 'api-types.ts');
      const bin = join(REPO_ROOT, 'node_modules', '.bin', 'openapi-typescript');
      execFileSync(bin, [join(REPO_ROOT, 'openapi.yaml'), '-o', out], { stdio: 'ignore', timeout: 60_000 });
      const committed = readFileSync(join(REPO_ROOT, 'src/client/api-types.ts'), 'utf8');
      expect(readFileSync(out, 'utf8') === committed, 'src/client/api-types.ts is stale: run npm run generate:client').toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * What `npm start` runs: the esbuild bundle of src/main.ts. It is built here into a folder of its
 * own inside the repo (so files found from the package root, and node_modules, resolve as they do
 * from dist/), started as a real process, and must serve the API, the spec beside it and the API
 * reference's files from the installed swagger-ui-dist.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort, http, makeTempDir, ProcessPool, removeDir, REPO_ROOT } from '../support/corral-process.ts';

const BUILD_TIMEOUT_MS = 60_000;

describe('the built bundle', () => {
  const pool = new ProcessPool();
  const dirs: string[] = [];

  afterEach(async () => {
    await pool.killAll();
    for (const dir of dirs.splice(0)) removeDir(dir);
  });

  it('starts a node that serves the API and openapi.yaml', async () => {
    mkdirSync(join(REPO_ROOT, '.vitest-tmp'), { recursive: true });
    const out = mkdtempSync(join(REPO_ROOT, '.vitest-tmp', 'bundle-'));
    const data = makeTempDir('corral-bundle-');
    dirs.push(out, data);
    const bundle = join(out, 'main.mjs');
    await promisify(execFile)('npm', ['run', 'build:server', '--silent', '--', `--outfile=${bundle}`], { cwd: REPO_ROOT, timeout: BUILD_TIMEOUT_MS });
    const node = pool.spawn(data, await freePort(), [], [bundle]);
    await node.waitHealthy();
    const spec = await http('GET', `${node.url}/openapi.yaml`);
    expect(spec.status).toBe(200);
    // The file, with this node as its server (test/docs/ checks the stamping itself).
    const served = parse(spec.body as string) as { servers: Array<{ url: string }>; paths: unknown };
    expect(served.servers[0]!.url).toBe(node.url);
    expect(served.paths).toEqual((parse(readFileSync(join(REPO_ROOT, 'openapi.yaml'), 'utf8')) as { paths: unknown }).paths);
    expect((await http('GET', `${node.url}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
    expect((await http('POST', `${node.url}/v1/znodes/app`, 'v1')).status).toBe(201);
  }, 90_000);
});

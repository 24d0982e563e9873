/**
 * The README's corral-cli block must really work: each line of its `sh cli` block runs as
 * written (`npx corral-cli …`, through the package's bin), in order, against a fresh node, and
 * exits with the code its comment promises (`# → exit N`, else 0).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, ProcessPool, removeDir, REPO_ROOT, type CorralProcess } from '../support/corral-process.ts';

const run = promisify(execFile);

function cliLines(): Array<{ command: string; exitCode: number }> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const [block] = [...readme.matchAll(/```sh cli\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (block === undefined) throw new Error('README has no `sh cli` block');
  return block.split('\n').filter((line) => line.startsWith('npx corral-cli ')).map((line) => ({
    command: line.replace(/\s+#.*$/, ''),
    exitCode: Number(/# → exit (\d)/.exec(line)?.[1] ?? 0),
  }));
}

describe('README corral-cli block', () => {
  const pool = new ProcessPool();
  let dir: string;
  let node: CorralProcess;

  beforeAll(async () => {
    dir = makeTempDir('corral-readme-cli-');
    node = pool.spawn(join(dir, 'data'), await freePort());
    await node.waitHealthy();
  });
  afterAll(async () => {
    await pool.killAll();
    removeDir(dir);
  });

  it('runs every line with the exit code it documents, in order', async () => {
    const lines = cliLines();
    expect(lines.length).toBeGreaterThanOrEqual(8);
    const port = new URL(node.url).port;
    // The other members of the example's --server list are down here: failover skips them.
    const down = [String(await freePort()), String(await freePort())];
    for (const { command, exitCode } of lines) {
      const local = command.replaceAll('127.0.0.1:8181', `127.0.0.1:${port}`)
        .replaceAll('127.0.0.1:8182', `127.0.0.1:${down[0]}`).replaceAll('127.0.0.1:8183', `127.0.0.1:${down[1]}`);
      const env = { ...process.env, CORRAL_SERVER: `127.0.0.1:${port}` };
      const outcome = await run('bash', ['-c', local], { cwd: REPO_ROOT, env, timeout: 30_000 }).then(
        () => 0, (error: { code?: number }) => error.code ?? -1);
      expect(outcome, command).toBe(exitCode);
    }
  }, 120_000);
});

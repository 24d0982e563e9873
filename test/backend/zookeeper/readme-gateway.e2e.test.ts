/**
 * The README's "In front of your ZooKeeper" block must really work: a gateway process started
 * with the block's flags in front of a real ZooKeeper 3.8 (on a free loopback port instead of
 * 2181), then every curl line, in order, answering the status its `# → NNN` comment promises.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, ProcessPool, removeDir, REPO_ROOT } from '../../support/corral-process.ts';
import { startZooKeeper, type ZooKeeperHandle } from '../../oracle/zookeeper-server.ts';

const run = promisify(execFile);

function block(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const [found] = [...readme.matchAll(/```sh zookeeper\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (found === undefined) throw new Error('README has no `sh zookeeper` block');
  return found;
}

describe('README: in front of your ZooKeeper', () => {
  const pool = new ProcessPool();
  let zk: ZooKeeperHandle;
  const dir = makeTempDir('corral-readme-gw-');
  const keyBefore = process.env.CORRAL_GATEWAY_KEY;

  beforeAll(async () => {
    zk = await startZooKeeper();
  });

  afterAll(async () => {
    await pool.killAll();
    await zk?.stop();
    removeDir(dir);
    if (keyBefore === undefined) delete process.env.CORRAL_GATEWAY_KEY;
    else process.env.CORRAL_GATEWAY_KEY = keyBefore;
  });

  it('starts a gateway with the block\'s flags and answers every curl line as documented', async () => {
    const lines = block().split('\n');
    const start = lines.find((line) => line.includes('npm start -- '));
    if (start === undefined) throw new Error('the block starts no gateway');
    const flags = start.slice(start.indexOf('npm start -- ') + 'npm start -- '.length).replace(/#.*$/, '').trim()
      .replaceAll('127.0.0.1:2181', `127.0.0.1:${zk.port}`).replace(/--port \d+/, '').trim().split(/\s+/);
    expect(flags).toContain('--backend');
    // The block exports the key as the shell would: a random hex string.
    expect(lines.some((line) => line.startsWith('export CORRAL_GATEWAY_KEY='))).toBe(true);
    process.env.CORRAL_GATEWAY_KEY = 'readme-gateway-key-0123456789';
    const gateway = pool.spawn(join(dir, 'data'), await freePort(), flags);
    await gateway.waitHealthy();
    const port = new URL(gateway.url).port;
    const curls = lines.filter((line) => line.startsWith('curl '));
    expect(curls.length).toBeGreaterThanOrEqual(6);
    for (const line of curls) {
      const match = /^(.*?)\s+# → (\d{3})\s*$/.exec(line);
      if (!match) throw new Error(`README curl line without a "# → status" comment: ${line}`);
      const command = `${match[1]!.replaceAll('127.0.0.1:8181', `127.0.0.1:${port}`)} -o /dev/null -w '%{http_code}' --max-time 10`;
      const { stdout } = await run('bash', ['-c', command], { timeout: 15_000 });
      expect(stdout.trim(), line).toBe(match[2]);
    }
  });
});

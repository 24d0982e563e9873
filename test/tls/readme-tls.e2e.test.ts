/**
 * The README's TLS block must really work: its `npm run dev-certs` line makes the PKI, its
 * `npm start` line's flags start a real `corral` process, and every curl line (run from the
 * directory holding `pki/`) answers the status its `# → NNN` comment promises.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, ProcessPool, removeDir, REPO_ROOT, waitFor } from '../support/corral-process.ts';
import { h1Request } from './tls-client.ts';

const run = promisify(execFile);

describe('README TLS block', () => {
  const pool = new ProcessPool();
  const dir = makeTempDir('corral-readme-tls-');

  afterAll(async () => {
    await pool.killAll();
    removeDir(dir);
  });

  it('makes the PKI, starts a TLS node with the block\'s flags, and answers every curl line as documented', async () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const [block] = [...readme.matchAll(/```sh tls\n([\s\S]*?)```/g)].map((m) => m[1]!);
    if (block === undefined) throw new Error('README has no `sh tls` block');
    const lines = block.split('\n');
    const certs = lines.find((l) => l.startsWith('npm run dev-certs -- pki '));
    const start = lines.find((l) => l.startsWith('npm start -- '));
    if (certs === undefined || start === undefined) throw new Error('the tls block needs a dev-certs line and an npm start line');

    await run('bash', ['-c', certs.replace('-- pki ', `-- ${join(dir, 'pki')} `)], { cwd: REPO_ROOT, timeout: 60_000 });
    const { stdout: argv } = await run('bash', ['-c', `set -- ${start.slice('npm start -- '.length)}; printf '%s\\0' "$@"`], { timeout: 10_000 });
    const args = argv.split('\0').filter(Boolean).map((a) => (a.startsWith('pki/') ? join(dir, a) : a));
    const port = await freePort();
    const node = pool.spawn(join(dir, 'data'), port, args);
    const url = `https://127.0.0.1:${port}`;
    await waitFor(async () => node.running && (await h1Request(url, { ca: join(dir, 'pki', 'ca.pem') }, 'GET', '/healthz')).status === 200,
      { timeoutMs: 20_000, what: 'the TLS node' });

    const curls = lines.filter((l) => l.startsWith('curl '));
    expect(curls.length).toBeGreaterThanOrEqual(4);
    for (const line of curls) {
      const match = /^(.*?)\s+# → (\d{3})\b/.exec(line);
      if (!match) throw new Error(`README curl line without a "# → status" comment: ${line}`);
      const command = `${match[1]!.replaceAll('127.0.0.1:8181', `127.0.0.1:${port}`)} -o /dev/null -w '%{http_code}' --max-time 10`;
      const { stdout } = await run('bash', ['-c', command], { cwd: dir, timeout: 15_000 });
      expect(stdout.trim(), line).toBe(match[2]);
    }
  });
});

/**
 * The README's quick start must really work: every `curl` line of its shell blocks runs, in
 * order, against a freshly started node (a real process), and answers the status its `# → NNN`
 * comment promises.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeTempDir, ProcessPool, removeDir, REPO_ROOT, type CorralProcess } from '../support/corral-process.ts';

const run = promisify(execFile);

interface Example {
  readonly command: string;
  readonly status: string;
}

function curlExamples(): Example[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((block) =>
    block.split('\n').filter((line) => line.startsWith('curl ')).map((line) => {
      const match = /^(.*?)\s+# → (\d{3})\s*$/.exec(line);
      if (!match) throw new Error(`README curl line without a "# → status" comment: ${line}`);
      return { command: match[1]!, status: match[2]! };
    }),
  );
}

describe('README quick start', () => {
  const pool = new ProcessPool();
  let dir: string;
  let node: CorralProcess;

  beforeAll(async () => {
    dir = makeTempDir('corral-readme-');
    node = pool.spawn(join(dir, 'data'), await freePort());
    await node.waitHealthy();
  });
  afterAll(async () => {
    await pool.killAll();
    removeDir(dir);
  });

  it('has curl examples, each with the status it answers', () => {
    expect(curlExamples().length).toBeGreaterThanOrEqual(10);
  });

  it('answers every curl example with the documented status, in order', async () => {
    const port = new URL(node.url).port;
    for (const example of curlExamples()) {
      const command = `${example.command.replaceAll('127.0.0.1:8181', `127.0.0.1:${port}`)} -o /dev/null -w '%{http_code}' --max-time 10`;
      const { stdout } = await run('bash', ['-c', command], { timeout: 15_000 });
      expect(stdout.trim(), example.command).toBe(example.status);
    }
  });

  it('answers every curl example the same on a node with --auth-required when each carries a credential', async () => {
    const secured = pool.spawn(join(dir, 'required'), await freePort(), ['--auth-required']);
    await secured.waitHealthy();
    const port = new URL(secured.url).port;
    for (const example of curlExamples()) {
      // A line that names its own credential keeps it; the others act as one more user, tester.
      const credential = /(^| )-u /.test(example.command) ? '' : ' -u tester:pw';
      const command = `${example.command.replaceAll('127.0.0.1:8181', `127.0.0.1:${port}`)}${credential} -o /dev/null -w '%{http_code}' --max-time 10`;
      const { stdout } = await run('bash', ['-c', command], { timeout: 15_000 });
      expect(stdout.trim(), example.command).toBe(example.status);
    }
    const { stdout: anonymous } = await run('bash', ['-c', `curl -sS http://127.0.0.1:${port}/v1/znodes/app -o /dev/null -w '%{http_code}' --max-time 10`]);
    expect(anonymous.trim()).toBe('401');
  });

  it('runs the "secure it" block on a node started with its flags: 401 without credentials, the superuser\'s ACL change', async () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const [block] = [...readme.matchAll(/```sh secure\n([\s\S]*?)```/g)].map((m) => m[1]!);
    if (block === undefined) throw new Error('README has no `sh secure` block');
    const start = block.split('\n').find((line) => line.startsWith('npm start -- '));
    if (start === undefined) throw new Error('the secure block does not start a node');
    // The flags as the shell would pass them (the super digest is computed by a command substitution).
    const { stdout: argv } = await run('bash', ['-c', `set -- ${start.slice('npm start -- '.length)}; printf '%s\\0' "$@"`], { timeout: 10_000 });
    const secured = pool.spawn(join(dir, 'secure'), await freePort(), argv.split('\0').filter(Boolean));
    await secured.waitHealthy();
    const port = new URL(secured.url).port;
    const lines = block.split('\n').filter((line) => line.startsWith('curl '));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) {
      const match = /^(.*?)\s+# → (\d{3})\s*$/.exec(line);
      if (!match) throw new Error(`README curl line without a "# → status" comment: ${line}`);
      const command = `${match[1]!.replaceAll('127.0.0.1:8181', `127.0.0.1:${port}`)} -o /dev/null -w '%{http_code}' --max-time 10`;
      const { stdout } = await run('bash', ['-c', command], { timeout: 15_000 });
      expect(stdout.trim(), line).toBe(match[2]);
    }
  });

  it('runs the session example: the stream shows the watch event, then the session\'s end', async () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const scripts = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(scripts.length).toBe(1);
    const port = new URL(node.url).port;
    const script = `set -e\n${scripts[0]!.replaceAll('127.0.0.1:8181', `127.0.0.1:${port}`)}`;
    const { stdout } = await run('bash', ['-c', script], { timeout: 20_000 });
    const watch = stdout.indexOf('"type":"NodeChildrenChanged","path":"/app"');
    const end = stdout.indexOf('event: session\ndata: {"state":"closed"');
    expect(watch, stdout).toBeGreaterThan(-1);
    expect(end, stdout).toBeGreaterThan(watch);
    expect(stdout).toContain('"ephemeralOwner"');
  });
});

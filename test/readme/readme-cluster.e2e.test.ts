/**
 * The README's cluster must really work as written: `npm run cluster` (scripts/cluster.ts) starts
 * three real member processes, every curl line of its `sh cluster` block answers what it says,
 * and the cluster survives SIGKILL of its leader with no acknowledged write lost and a new
 * leader within a few election timeouts; killing the script ends its members too.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortRun, makeTempDir, processAlive, removeDir, REPO_ROOT, waitFor } from '../support/corral-process.ts';

const run = promisify(execFile);
const SIZE = 3;

function clusterExamples(): Array<{ command: string; status: string }> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const [block] = [...readme.matchAll(/```sh cluster\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (block === undefined) throw new Error('README has no `sh cluster` block');
  expect(block).toContain('npm run cluster');
  return block.split('\n').filter((l) => l.startsWith('curl ')).map((line) => {
    const match = /^(.*?)\s+# → (\d{3})\s*$/.exec(line);
    if (!match) throw new Error(`curl line without a "# → status" comment: ${line}`);
    return { command: match[1]!, status: match[2]! };
  });
}

async function request(url: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  return { status: res.status, body: text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text };
}

describe('README cluster', () => {
  let dir: string;
  let script: ChildProcess;
  let clientBase: number;
  const pids = new Map<number, number>();
  /** The script's last lines (its members' logs), for a failure to show. */
  const output: string[] = [];
  const url = (id: number) => `http://127.0.0.1:${clientBase + id - 1}`;

  beforeAll(async () => {
    dir = makeTempDir('corral-readme-cluster-');
    // Below the kernel's ephemeral range: a random port in it was taken by another test's
    // connection before a member bound it (EADDRINUSE, and the member never became ready).
    clientBase = await freePortRun(SIZE);
    const peerBase = await freePortRun(SIZE);
    // What `npm run cluster` runs, with this test's ports and data directory.
    script = spawn(process.execPath, ['--import', 'tsx', 'scripts/cluster.ts', '--data-dir', join(dir, 'data'),
      '--client-port', String(clientBase), '--peer-port', String(peerBase)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: script.stdout! }).on('line', (line) => {
      const match = /^member (\d+): \S+ pid (\d+)$/.exec(line);
      if (match) pids.set(Number(match[1]), Number(match[2]));
      output.push(line);
      if (output.length > 40) output.shift();
    });
    const outcome = await waitFor(async () => {
      if (/exited \(/.test(output.join('\n'))) return 'a member exited' as const;
      const ready = await Promise.all([1, 2, 3].map((id) => request(`${url(id)}/readyz`).then((r) => r.status === 200, () => false)));
      return ready.every(Boolean) && ('ready' as const);
    }, { timeoutMs: 60_000, what: 'every member ready' }).catch((error: Error) => error.message); // three tsx processes starting on a loaded 2-core runner
    if (outcome !== 'ready') throw new Error(`${outcome}; the script's last lines:\n${output.join('\n')}`);
  }, 70_000);

  afterAll(async () => {
    for (const pid of pids.values()) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    script?.kill('SIGKILL');
    removeDir(dir);
  });

  it('answers every curl line of the README\'s cluster block as it says', async () => {
    const examples = clusterExamples();
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const example of examples) {
      let command = example.command;
      for (let id = 1; id <= SIZE; id++) command = command.replaceAll(`127.0.0.1:${8180 + id}`, `127.0.0.1:${clientBase + id - 1}`);
      const { stdout } = await run('bash', ['-c', `${command} -o /dev/null -w '%{http_code}' --max-time 10`], { timeout: 15_000 });
      expect(stdout.trim(), example.command).toBe(example.status);
    }
  }, 60_000);

  it('survives SIGKILL of its leader: a new leader within a few election timeouts, no acknowledged write lost', async () => {
    expect(pids.size).toBe(SIZE);
    const acknowledged: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await request(`${url((i % SIZE) + 1)}/v1/znodes/acked-${i}`, { method: 'POST', body: `v${i}` });
      expect(res.status).toBe(201);
      acknowledged.push(`/acked-${i}`);
    }
    const { body: view } = await request(`${url(1)}/v1/cluster`);
    const leader: number = view.leader;
    expect(leader).toBeGreaterThan(0);
    process.kill(pids.get(leader)!, 'SIGKILL');
    const killedAt = Date.now();
    const survivor = [1, 2, 3].find((id) => id !== leader)!;
    // Writes through a survivor succeed again once a new leader is elected.
    await waitFor(async () => (await request(`${url(survivor)}/v1/znodes/after-failover`, { method: 'POST', body: 'x' }).catch(() => ({ status: 0 }))).status === 201,
      { timeoutMs: 15_000, what: 'a write accepted after the leader was killed' });
    const failoverMs = Date.now() - killedAt;
    // Election timeouts are 1–2 s (10–20 ticks of 100 ms): a few of them, with room for a busy machine.
    expect(failoverMs).toBeLessThan(10_000);
    const { body: after } = await request(`${url(survivor)}/v1/cluster`);
    expect(after.leader).not.toBe(leader);
    for (const id of [1, 2, 3].filter((m) => m !== leader)) {
      for (const path of acknowledged) {
        const res = await request(`${url(id)}/v1/znodes${path}?consistency=linearizable`);
        expect(res.status, `${path} on member ${id}`).toBe(200);
      }
    }
  }, 60_000);

  it('leaves no member running when the script itself is killed outright (SIGKILL)', async () => {
    const running = [...pids.values()].filter(processAlive);
    expect(running.length, 'the survivors of the failover test').toBeGreaterThanOrEqual(SIZE - 1);
    const gone = new Promise((resolve) => script.once('exit', resolve));
    script.kill('SIGKILL');
    await gone;
    await waitFor(() => running.every((pid) => !processAlive(pid)), { timeoutMs: 15_000, what: 'every member to exit after the script' });
  }, 30_000);
});

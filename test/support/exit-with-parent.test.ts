/**
 * The servers tests start must not outlive the test process: when a runner is interrupted or a
 * worker killed, afterEach never runs, and a server left behind holds its ports and data
 * directory. scripts/exit-with-parent.mjs (preloaded into every CorralProcess, and into the members
 * of scripts/cluster.ts) ends it instead.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_WITH_PARENT, processAlive, REPO_ROOT, waitFor } from './corral-process.ts';

/** A parent process that starts two idle children, one with the preload, and prints their pids. */
const PARENT = `
const { spawn } = require('node:child_process');
const idle = ['-e', 'setInterval(() => {}, 1000)'];
const opts = { stdio: ['pipe', 'ignore', 'ignore'] };
const guarded = spawn(process.execPath, ['--import', process.argv[1], ...idle], opts);
const plain = spawn(process.execPath, idle, opts);
console.log(JSON.stringify({ guarded: guarded.pid, plain: plain.pid }));
setTimeout(() => process.exit(), 60000);
`;

const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
});

describe('exit-with-parent (test servers\' preload)', () => {
  it('ends a server once the process that started it is killed, where one without it lives on', async () => {
    const parent = spawn(process.execPath, ['-e', PARENT, EXIT_WITH_PARENT], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    leftovers.push(parent.pid!);
    let out = '';
    parent.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const pids = await waitFor(() => out.includes('\n') && (JSON.parse(out) as { guarded: number; plain: number }), { timeoutMs: 10_000, what: 'the children\'s pids' });
    leftovers.push(pids.guarded, pids.plain);
    // A child that has not loaded the preload yet when its parent dies reads the closed pipe's end when it does.
    await waitFor(() => processAlive(pids.guarded) && processAlive(pids.plain), { timeoutMs: 5000, what: 'both children up' });
    const parentGone = new Promise((resolve) => parent.once('exit', resolve));
    parent.kill('SIGKILL');
    await parentGone;
    await waitFor(() => !processAlive(pids.guarded), { timeoutMs: 10_000, what: 'the guarded child to exit after its parent' });
    expect(processAlive(pids.plain), 'a child without the preload is orphaned, not ended').toBe(true);
  });
});

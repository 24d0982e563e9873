/**
 * corral-cli driven as a user drives it: the real command (`node src/cli/bin.mjs …`, what the
 * `corral-cli` bin runs) spawned against a real node on 127.0.0.1, its stdout, stderr and exit
 * code checked. Output is piped, so it must be plain (no colour).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BIN as BIN, Spawned } from '../support/cli-run.ts';
import { freePort, http, makeTempDir, ProcessPool, removeDir, waitFor, type CorralProcess } from '../support/corral-process.ts';

const RUN_TIMEOUT_MS = 20_000;

// Each test spawns several node processes (about half a second each, more on a loaded machine).
describe('corral-cli', { timeout: 90_000 }, () => {
  const pool = new ProcessPool();
  const spawned: Spawned[] = [];
  let dir: string;
  let node: CorralProcess;
  let server: string;

  const start = (args: readonly string[], timeoutMs?: number) => {
    const run = new Spawned(process.execPath, [BIN, '--server', server, ...args], timeoutMs);
    spawned.push(run);
    return run;
  };
  const cli = (...args: string[]) => start(args).done;
  /** The node's current zxid: where a watch started now would begin. */
  const currentZxid = async () => {
    const reply = await fetch(`${server}/v1/stat`);
    await reply.body?.cancel();
    return reply.headers.get('zk-zxid')!;
  };

  beforeAll(async () => {
    dir = makeTempDir('corral-cli-');
    node = pool.spawn(join(dir, 'data'), await freePort());
    await node.waitHealthy();
    server = node.url;
  });
  afterAll(async () => {
    for (const run of spawned) run.kill();
    await pool.killAll();
    removeDir(dir);
  });

  describe('znode commands', () => {
    it('creates, reads, lists, sets and deletes a znode, storing the data exactly as typed', async () => {
      expect(await cli('create', '/app', 'hello')).toEqual({ code: 0, stdout: 'Created /app\n', stderr: '' });
      // Piped, get prints the bytes and nothing else (no added newline, no colour).
      expect(await cli('get', '/app')).toEqual({ code: 0, stdout: 'hello', stderr: '' });
      expect((await cli('set', '/app', 'a "quoted" value')).code).toBe(0);
      expect((await cli('get', '/app')).stdout).toBe('a "quoted" value');
      expect((await cli('create', '/app/b')).code).toBe(0);
      expect((await cli('create', '/app/a', 'x')).code).toBe(0);
      expect(await cli('ls', '/app')).toEqual({ code: 0, stdout: 'a\nb\n', stderr: '' });
      expect(await cli('delete', '/app/b')).toEqual({ code: 0, stdout: '', stderr: '' });
      expect((await cli('ls', '/app')).stdout).toBe('a\n');
    });

    it('prints the stat as zkCli does, name = value per line, with get -s and stat', async () => {
      await cli('create', '/stat-me', 'abc');
      const withStat = await cli('get', '-s', '/stat-me');
      expect(withStat.code).toBe(0);
      const lines = withStat.stdout.split('\n');
      expect(lines[0]).toBe('abc');
      expect(lines).toContainEqual(expect.stringMatching(/^dataLength +=  ?3$/));
      expect((await cli('stat', '/stat-me')).stdout).toMatch(/^version += 0$/m);
      expect(withStat.stdout).not.toContain('\u001b[');
    });

    it('creates sequential nodes with the counter appended and lists a subtree with ls -R', async () => {
      await cli('create', '/jobs');
      expect((await cli('create', '-s', '/jobs/job-')).stdout).toBe('Created /jobs/job-0000000000\n');
      expect((await cli('create', '-s', '/jobs/job-')).stdout).toBe('Created /jobs/job-0000000001\n');
      expect((await cli('ls', '-R', '/jobs')).stdout).toBe('/jobs\n/jobs/job-0000000000\n/jobs/job-0000000001\n');
    });

    it('deletes a whole subtree with deleteall', async () => {
      await cli('create', '/tree');
      await cli('create', '/tree/a');
      await cli('create', '/tree/a/b');
      expect((await cli('deleteall', '/tree')).code).toBe(0);
      expect((await http('GET', `${server}/v1/stat/tree`)).status).toBe(404);
    });

    it('keeps an ephemeral node while create -e --hold runs and loses it when the command exits', async () => {
      const holder = start(['create', '-e', '--hold', '4000', '/lease', 'me']);
      await waitFor(async () => (await http('GET', `${server}/v1/znodes/lease`)).status === 200, { timeoutMs: 10_000, what: 'the ephemeral node' });
      const owner = (await http('GET', `${server}/v1/znodes/lease`)).body.stat.ephemeralOwner;
      expect(owner).not.toBe('0');
      expect((await holder.done).code).toBe(0);
      expect((await http('GET', `${server}/v1/znodes/lease`)).status).toBe(404);
    });

    it('acts as the --user identity: a node made with auth::cdrwa is theirs alone, and setAcl changes it', async () => {
      expect((await cli('--user', 'alice:secret', 'create', '--acl', 'auth::cdrwa', '/alice', 'mine')).code).toBe(0);
      const stranger = await cli('get', '/alice');
      expect(stranger.code).toBe(1);
      expect(stranger.stderr).toMatch(/^Error: NOAUTH \(-102\): /);
      expect(await cli('--user', 'alice:secret', 'get', '/alice')).toEqual({ code: 0, stdout: 'mine', stderr: '' });
      expect((await cli('--user', 'alice:secret', 'getAcl', '/alice')).stdout).toMatch(/^digest:alice:[^:\n]+:cdrwa\n$/);
      expect((await cli('--user', 'alice:secret', 'setAcl', '-v', '0', '/alice', 'world:anyone:r')).code).toBe(0);
      expect(await cli('getAcl', '/alice')).toEqual({ code: 0, stdout: 'world:anyone:r\n', stderr: '' });
      expect((await cli('get', '/alice')).stdout).toBe('mine');
    });

    it('answers sync and getAcl', async () => {
      expect((await cli('sync', '/')).stdout).toMatch(/^Sync is OK \(zxid \d+\)\n$/);
      expect(await cli('getAcl', '/')).toEqual({ code: 0, stdout: 'world:anyone:cdrwa\n', stderr: '' });
    });
  });

  describe('--json', () => {
    it('prints one JSON document per result, in the API\'s shapes', async () => {
      const created = JSON.parse((await cli('--json', 'create', '/j', 'v')).stdout);
      expect(created).toMatchObject({ path: '/j', stat: { version: 0, dataLength: 1 } });
      const got = JSON.parse((await cli('--json', 'get', '/j')).stdout);
      expect(got).toMatchObject({ path: '/j', data: 'v', encoding: 'utf8', stat: { version: 0 } });
      await cli('create', '/j/a');
      await cli('create', '/j/b');
      expect(JSON.parse((await cli('ls', '/j', '--json')).stdout)).toEqual({ path: '/j', children: ['a', 'b'] });
      const stat = JSON.parse((await cli('--json', 'stat', '/j/a')).stdout);
      expect(Object.keys(stat.stat)).toEqual(expect.arrayContaining(['czxid', 'mzxid', 'version', 'ephemeralOwner', 'numChildren']));
      const cluster = JSON.parse((await cli('--json', 'cluster')).stdout);
      expect(cluster).toMatchObject({ role: 'leader', members: [expect.objectContaining({ id: cluster.self })] });
    });
  });

  describe('exit codes', () => {
    it('exits 1 with the ZooKeeper code on one stderr line for a missing node', async () => {
      const run = await cli('get', '/no/such/node');
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^Error: NONODE \(-101\): /);
    });

    it('exits 1 with BADVERSION when set -v names another version, and changes nothing', async () => {
      await cli('create', '/versioned', 'one');
      const run = await cli('set', '-v', '7', '/versioned', 'two');
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^Error: BADVERSION \(-103\): /);
      expect((await cli('get', '/versioned')).stdout).toBe('one');
    });

    it('exits 2 with one line for an unknown option, a missing argument, or a bad flag value', async () => {
      for (const args of [['ls', '/', '--bogus'], ['get'], ['set', '-v', 'x', '/a', 'b'], ['create', '-e', '-t', '10', '/x'], ['nosuchcommand']]) {
        const run = await cli(...args);
        expect(run.code, args.join(' ')).toBe(2);
        expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      }
    });

    it('prints usage and exits 0 for --help on the program and on every command', async () => {
      const top = await cli('--help');
      expect(top.code).toBe(0);
      expect(top.stdout).toContain('Usage: corral-cli');
      const commands = ['ls', 'get', 'stat', 'set', 'create', 'delete', 'deleteall', 'sync', 'getAcl', 'setAcl', 'watch', 'cluster'];
      for (const command of commands) expect(top.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
      const each = await Promise.all(commands.map((command) => cli(command, '--help')));
      each.forEach((run, i) => {
        expect(run.code, commands[i]).toBe(0);
        expect(run.stdout, commands[i]).toContain(`Usage: corral-cli ${commands[i]}`);
      });
    });
  });

  describe('TTY-aware output', () => {
    // `script` (util-linux) runs the command on a pseudo-terminal, as a user's shell does.
    const onTerminal = (env: Record<string, string>) =>
      new Spawned('script', ['-qec', `${process.execPath} ${BIN} --server ${server} get /no/such`, '/dev/null'], RUN_TIMEOUT_MS, { TERM: 'xterm-256color', ...env }).done;

    it('colours the error label on a terminal, and not when NO_COLOR is set, TERM is dumb or the output is piped', async () => {
      expect((await onTerminal({})).stdout).toContain('\u001b[31mError:\u001b[39m NONODE');
      for (const env of [{ NO_COLOR: '1' }, { TERM: 'dumb' }] as Record<string, string>[]) {
        const plain = await onTerminal(env);
        expect(plain.stdout, JSON.stringify(env)).toContain('Error: NONODE (-101)');
        expect(plain.stdout, JSON.stringify(env)).not.toContain('\u001b[');
      }
      expect((await cli('get', '/no/such')).stderr).not.toContain('\u001b[');
    });
  });

  describe('--server failover', () => {
    it('moves on to the next server when the first one is down', async () => {
      await http('POST', `${server}/v1/znodes/failover`, 'one');
      const dead = `http://127.0.0.1:${await freePort()}`;
      const run = await new Spawned(process.execPath, [BIN, '--server', `${dead},${server}`, 'get', '/failover']).done;
      expect(run).toEqual({ code: 0, stdout: 'one', stderr: '' });
    });

    it('opens a watch stream on the next server when the first one is down', async () => {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const from = await currentZxid();
      const watcher = new Spawned(process.execPath, [BIN, '--server', `${dead},${server}`, 'watch', '/failover-watched', '--count', '1', '--from-zxid', from]);
      spawned.push(watcher);
      await http('POST', `${server}/v1/znodes/failover-watched`, 'two');
      const run = await watcher.done;
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^NodeCreated \/failover-watched zxid=\d+\n$/);
    });

    it('exits 1 with CONNECTIONLOSS when no server answers', async () => {
      const dead = `127.0.0.1:${await freePort()}`;
      const run = await new Spawned(process.execPath, [BIN, '--server', dead, '--timeout', '10000', 'ls', '/']).done;
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^Error: CONNECTIONLOSS \(-4\): /);
    });
  });

  describe('watch', () => {
    it('prints an event made by another client and exits after --count events', async () => {
      await cli('create', '/watched', '0');
      const watcher = start(['watch', '/watched', '--count', '1', '--from-zxid', await currentZxid()]);
      await http('PUT', `${server}/v1/znodes/watched`, 'changed');
      const run = await watcher.done;
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^NodeDataChanged \/watched zxid=\d+\n$/);
    });

    it('prints JSON events for a recursive watch with -R --json', async () => {
      await http('POST', `${server}/v1/znodes/tree-watched`, '');
      const watcher = start(['--json', 'watch', '-R', '/tree-watched', '--count', '2', '--from-zxid', await currentZxid()]);
      await http('POST', `${server}/v1/znodes/tree-watched/kid`, 'x');
      await http('DELETE', `${server}/v1/znodes/tree-watched/kid`);
      const run = await watcher.done;
      expect(run.code).toBe(0);
      const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
      expect(events.map((e) => [e.event, e.type, e.path])).toEqual([['watch', 'NodeCreated', '/tree-watched/kid'], ['watch', 'NodeDeleted', '/tree-watched/kid']]);
      expect(events[0].id).toMatch(/^\d+-\d+$/);
    });

    it('resumes after the node restarts, with no event lost or printed twice', async () => {
      await cli('create', '/resume', '0');
      const watcher = start(['watch', '/resume', '--count', '3', '--from-zxid', await currentZxid()], 60_000);
      await http('PUT', `${server}/v1/znodes/resume`, '1');
      await waitFor(() => watcher.stdout.split('\n').length > 1, { timeoutMs: 10_000, what: 'the first event' });
      await node.kill();
      node = pool.spawn(join(dir, 'data'), Number(new URL(server).port));
      await node.waitHealthy();
      await http('PUT', `${server}/v1/znodes/resume`, '2');
      await http('PUT', `${server}/v1/znodes/resume`, '3');
      const run = await watcher.done;
      expect(run.code).toBe(0);
      const zxids = run.stdout.trim().split('\n').map((line) => /^NodeDataChanged \/resume zxid=(\d+)$/.exec(line)![1]);
      expect(zxids).toHaveLength(3);
      expect(new Set(zxids).size).toBe(3);
    }, 60_000);
  });
});

describe('npm run cluster', () => {
  it('refuses an unknown option with one line on stderr and exit code 2', async () => {
    const run = await new Spawned('npm', ['run', 'cluster', '--', '--bogus']).done;
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining("Unknown option '--bogus'")]);
  });

  it('prints its options, the port flags included, for --help and exits 0', async () => {
    const run = await new Spawned('npm', ['run', '--silent', 'cluster', '--', '--help']).done;
    expect(run.code).toBe(0);
    for (const flag of ['--size', '--data-dir', '--client-port', '--peer-port']) expect(run.stdout).toContain(flag);
  });
});

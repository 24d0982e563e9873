/**
 * `corral-cli backup` and `corral-cli restore` driven as an operator drives them: the real bin
 * spawned against a real node process on 127.0.0.1 (one with a superuser, served on its admin
 * listener), its output, exit codes and files checked; the restored directory started as a node.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/auth/digest.ts';
import { spawnCli, type CliRun } from '../support/cli-run.ts';
import { freePort, http, makeTempDir, ProcessPool, readTree, removeDir, type CorralProcess } from '../support/corral-process.ts';

/** Runs corral-cli to its end (killed past 30 s), with its exit code and output. */
const cli = (...args: string[]): Promise<CliRun> => spawnCli(args, 30_000).done;

describe('corral-cli backup and restore', { timeout: 120_000 }, () => {
  const pool = new ProcessPool();
  let dir: string;
  let node: CorralProcess;
  let admin: string;

  beforeAll(async () => {
    dir = makeTempDir('corral-backup-cli-');
    const adminPort = await freePort();
    admin = `http://127.0.0.1:${adminPort}`;
    node = pool.spawn(join(dir, 'data'), await freePort(), ['--super-digest', digestOf('super', 'test'), '--admin-listen', `127.0.0.1:${adminPort}`]);
    await node.waitHealthy();
    for (const path of ['app', 'app/config', 'app/bin']) expect((await http('POST', `${node.url}/v1/znodes/${path}`, `data of ${path}`)).status).toBe(201);
  });
  afterAll(async () => {
    await pool.killAll();
    removeDir(dir);
  });

  it('describes both commands with --help', async () => {
    const backupHelp = await cli('backup', '--help');
    expect(backupHelp).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: corral-cli backup [options] <file>') });
    const restoreHelp = await cli('restore', '--help');
    expect(restoreHelp.code).toBe(0);
    expect(restoreHelp.stdout).toMatch(/--data-dir <dir>/);
  });

  it('downloads a checked backup from the admin listener, restores it, and a node started on it serves the same tree', async () => {
    const file = join(dir, 'tree.backup');
    const backup = await cli('--server', admin, '--user', 'super:test', 'backup', file);
    expect(backup).toMatchObject({ code: 0, stderr: '' });
    expect(backup.stdout).toMatch(/^Backup of zxid \d+ \(\d+ znodes, 0 sessions\) written to /);
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(readdirSync(dir).filter((name) => name.includes('.part-'))).toEqual([]);

    const restored = join(dir, 'restored');
    const restore = await cli('--json', 'restore', file, '--data-dir', restored);
    expect(restore.code).toBe(0);
    expect(JSON.parse(restore.stdout)).toMatchObject({ dataDir: restored, zxid: expect.stringMatching(/^\d+$/) });
    const copy = pool.spawn(restored, await freePort());
    await copy.waitHealthy();
    expect(await readTree(copy.url)).toEqual(await readTree(node.url));
  });

  it('is refused on the public listener when an admin listener is set', async () => {
    const run = await cli('--server', node.url, '--user', 'super:test', 'backup', join(dir, 'public.backup'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/UNIMPLEMENTED/);
    expect(existsSync(join(dir, 'public.backup'))).toBe(false);
  });

  it('is refused to a caller who is not the superuser (exit 1, NOAUTH) and writes no file', async () => {
    const run = await cli('--server', admin, '--user', 'bob:secret', 'backup', join(dir, 'bob.backup'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/NOAUTH \(-102\): only the superuser may take a backup/);
    expect(existsSync(join(dir, 'bob.backup'))).toBe(false);
  });

  it('refuses to restore a corrupt or truncated file (exit 3) and writes nothing', async () => {
    const file = join(dir, 'damaged.backup');
    expect((await cli('--server', admin, '--user', 'super:test', 'backup', file)).code).toBe(0);
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[good.length - 100] = flipped[good.length - 100]! ^ 0x01;
    for (const [name, bytes] of [['flipped', flipped], ['truncated', good.subarray(0, good.length - 7)]] as const) {
      writeFileSync(file, bytes);
      const target = join(dir, `never-${name}`);
      const run = await cli('restore', file, '--data-dir', target);
      expect(run.code, name).toBe(3);
      expect(run.stderr).toMatch(/the backup (is damaged|ends early).*; nothing was written/);
      expect(existsSync(target)).toBe(false);
    }
  });

  it('says which file it cannot read (exit 1) and needs --data-dir (exit 2)', async () => {
    const missing = await cli('restore', join(dir, 'missing.backup'), '--data-dir', join(dir, 'never-missing'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot open .*missing\.backup: ENOENT/);
    expect(existsSync(join(dir, 'never-missing'))).toBe(false);
    const usage = await cli('restore', join(dir, 'tree.backup'));
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/required option '--data-dir <dir>' not specified/);
  });

  it('refuses to restore into a data directory in use (exit 1) and leaves it alone', async () => {
    const file = join(dir, 'tree.backup');
    const run = await cli('restore', file, '--data-dir', join(dir, 'data'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/restore refused: data directory .* is not empty/);
    expect((await http('GET', `${node.url}/v1/znodes/app/config`)).status).toBe(200);
  });
});

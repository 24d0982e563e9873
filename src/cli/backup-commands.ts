/**
 * `corral-cli backup <file>` and `corral-cli restore <file> --data-dir <dir>`.
 *
 * backup: GET /v1/admin/backup (the superuser's --user), streamed to `<file>.part-<pid>` beside
 * the target (0600: a backup is every znode), fsynced, checked through (every page's CRC, the
 * SHA-256 trailer), then renamed over `<file>`: the file is either a whole, verified backup or
 * not there. restore: offline, no server involved (storage/backup-restore.ts).
 *
 * Exit codes besides main.ts's: 3 when the backup file is damaged (truncated, corrupt, or not a
 * format this build reads; nothing was written), 1 when a restore is refused (a data directory
 * that is not fresh).
 */
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { BackupHeader } from '../storage/backup-format.ts';
import { BackupFileError, readBackupFile } from '../storage/backup-reader.ts';
import { restoreDataDir, RestoreRefused, syncFile } from '../storage/backup-restore.ts';
import { failure, type Context } from './commands.ts';

export const DAMAGED_BACKUP_EXIT_CODE = 3;

/** The one-line description and exit code of a backup or restore failure; undefined for others. */
export function describeBackupFailure(error: unknown): { text: string; exitCode: number } | undefined {
  if (error instanceof BackupFileError) return { text: `${error.message}; nothing was written`, exitCode: DAMAGED_BACKUP_EXIT_CODE };
  if (error instanceof RestoreRefused) return { text: `restore refused: ${error.message}`, exitCode: 1 };
  // A file the command could not read or write (a missing backup, a directory that is not there).
  const io = error as Partial<NodeJS.ErrnoException>;
  if (error instanceof Error && typeof io.syscall === 'string' && typeof io.path === 'string') {
    return { text: `cannot ${io.syscall} ${io.path}: ${io.code ?? error.message}`, exitCode: 1 };
  }
  return undefined;
}

function summary(header: BackupHeader): Record<string, unknown> {
  return {
    zxid: String(header.zxid), znodes: header.nodeCount, sessions: header.sessionCount, watches: header.watchCount, member: header.member,
  };
}

export async function backup(ctx: Context, file: string, opts: { stallMs: number }): Promise<void> {
  const target = resolve(file);
  const partial = `${target}.part-${process.pid}`;
  const abort = new AbortController();
  // Bounded by silence, not by length: a big tree takes as long as it takes while bytes flow.
  const stall = setTimeout(() => abort.abort(new Error(`the server sent nothing for ${opts.stallMs} ms`)), opts.stallMs);
  try {
    const response = await ctx.client.raw('/v1/admin/backup', { signal: abort.signal });
    if (!response.ok || response.body === null) throw await failure(response);
    const progress = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        stall.refresh();
        done(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), progress, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
    clearTimeout(stall);
    syncFile(partial);
    const header = readBackupFile(partial);
    renameSync(partial, target);
    syncFile(dirname(target));
    if (ctx.out.json) return ctx.out.data({ file: target, ...summary(header) });
    ctx.out.line(`Backup of zxid ${header.zxid} (${header.nodeCount} znodes, ${header.sessionCount} sessions) written to ${target}`);
  } catch (error) {
    rmSync(partial, { force: true });
    throw abort.signal.aborted && abort.signal.reason instanceof Error ? abort.signal.reason : error;
  } finally {
    clearTimeout(stall);
  }
}

export function restore(ctx: Context, file: string, opts: { dataDir: string }): void {
  const dataDir = resolve(opts.dataDir);
  const header = restoreDataDir({ file: resolve(file), dataDir, nowMs: Date.now });
  if (ctx.out.json) return ctx.out.data({ dataDir, ...summary(header) });
  ctx.out.line(`Restored zxid ${header.zxid} (${header.nodeCount} znodes, ${header.sessionCount} sessions) into ${dataDir}`);
  ctx.out.line('Start each member on its restored data directory (the same backup in every member\'s).');
}

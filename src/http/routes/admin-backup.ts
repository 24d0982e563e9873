/**
 * `GET /v1/admin/backup`: this member's whole state at its applied zxid, streamed in the backup
 * format (storage/backup-format.ts) with `Zk-Backup-Zxid`; the file ends with its SHA-256.
 *
 * Superuser only: a backup holds every znode whatever its ACL (and every ACL's digests, and the
 * sessions' token hashes), so no ACL check on a node could stand for it. A member without a
 * superuser (--super-digest) refuses everyone, saying why. With --admin-listen the route is
 * served on the admin listener only (tls/admin-listener.ts).
 *
 * Limits: one backup at a time per member (a second is 429 THROTTLEDOP: each holds the tree as it
 * was, and what later writes replace stays in memory until it is done); a reader that takes
 * nothing for BACKUP_STALL_MS is cut off. The stream yields to the event loop between chunks,
 * and goes only as fast as the client reads (the response's backpressure).
 */
import type { Context } from 'hono';
import { SUPER_IDENTITY } from '../../core/acl/check.ts';
import { zkError, type ZkError } from '../../core/errors.ts';
import { BACKUP_MEDIA_TYPE, encodeBackup, headerOf } from '../../storage/backup-format.ts';
import type { AppDeps } from '../app-deps.ts';
import type { Caller } from '../../backend/backend.ts';
import { callerOfContext } from '../caller.ts';
import { errorResponse } from '../errors.ts';

/** Backups being streamed from one member at once. */
const BACKUPS_AT_ONCE_MAX = 1;
/** A backup whose reader takes nothing for this long is ended (it holds a whole tree meanwhile). */
export const BACKUP_STALL_MS = 60_000;

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Why `caller` may not take a backup here, if it may not. */
export function backupRefusal(deps: Pick<AppDeps, 'config'>, caller: Caller): ZkError | undefined {
  if (deps.config.superDigest === '') {
    return zkError('NOAUTH', 'this node has no superuser (--super-digest): a backup holds every znode whatever its ACL, so only the superuser may take one');
  }
  if (!caller.identities.includes(SUPER_IDENTITY)) {
    return zkError('NOAUTH', 'only the superuser may take a backup: it holds every znode whatever its ACL');
  }
  return undefined;
}

/**
 * A byte stream of `chunks`, one chunk per pull after a turn of the event loop; `done` runs once,
 * when the stream ends, is cancelled (the client went away) or stalls.
 */
function streamOf(chunks: Generator<Buffer>, done: (outcome: string) => void, stallMs: number): ReadableStream<Uint8Array> {
  let finished = false;
  let stall: NodeJS.Timeout;
  const finish = (outcome: string) => {
    if (finished) return;
    finished = true;
    clearTimeout(stall);
    chunks.return(undefined);
    done(outcome);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      stall = setTimeout(() => {
        controller.error(new Error(`the backup's reader took nothing for ${stallMs} ms`));
        finish('stalled');
      }, stallMs);
      stall.unref();
    },
    async pull(controller) {
      stall.refresh();
      await yieldTurn();
      if (finished) return;
      const next = chunks.next();
      if (next.done) {
        controller.close();
        finish('complete');
      } else controller.enqueue(next.value);
    },
    cancel() {
      finish('cancelled');
    },
  });
}

export function adminBackupHandlers(deps: AppDeps, stallMs = BACKUP_STALL_MS) {
  let running = 0;
  return {
    backup: (c: Context) => {
      const refused = backupRefusal(deps, callerOfContext(c));
      if (refused) return errorResponse(c, refused);
      const take = deps.backend.backupImage?.bind(deps.backend);
      if (take === undefined) return errorResponse(c, zkError('UNIMPLEMENTED', 'this backend cannot take a backup'));
      if (running >= BACKUPS_AT_ONCE_MAX) {
        return errorResponse(c, zkError('THROTTLEDOP', 'a backup is already being streamed from this member; retry once it is done'));
      }
      const headers: Record<string, string> = { 'Content-Type': BACKUP_MEDIA_TYPE, 'Cache-Control': 'no-store' };
      // HEAD says whether a backup would be served, without taking one.
      if (c.req.method === 'HEAD') return c.body(null, 200, headers);
      const image = take();
      const header = headerOf(image, deps.nowMs(), deps.backend.cluster().self);
      running++;
      deps.logger.info({ event: 'backup-started', zxid: image.zxid, nodes: image.nodes.length }, 'backup started');
      const stream = streamOf(encodeBackup(image, header), (outcome) => {
        running--;
        deps.logger.info({ event: 'backup-ended', zxid: image.zxid, outcome }, `backup ${outcome}`);
      }, stallMs);
      return c.body(stream, 200, {
        ...headers, 'Zk-Backup-Zxid': String(image.zxid), 'Content-Disposition': `attachment; filename="corral-${image.zxid}.backup"`,
      });
    },
  };
}

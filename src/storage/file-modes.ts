/**
 * Who may read a node's files. The data directory holds every znode (the ACLs only guard the
 * HTTP API), session token hashes and digest hashes, so it is the owner's alone: the directory is
 * created 0700 and each file the node keeps there is made 0600, also in a directory that already
 * existed. An existing directory's own mode is the operator's (a mount point, a shared parent):
 * it is reported when looser, not changed.
 *
 * Modes are set by path (chmod), never through a descriptor this process opens and closes: closing
 * any descriptor of a file drops every POSIX lock the process holds on it, SQLite's included.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** Any permission for the group or others. */
const SHARED_BITS = 0o077;

/** POSIX modes mean nothing on Windows (ACLs decide there). */
const POSIX = process.platform !== 'win32';

/**
 * Creates `dir` (and missing parents) 0700. Returns the mode of an existing directory that gives
 * the group or others any access, for the caller to warn about; undefined when private.
 */
export function makePrivateDir(dir: string): number | undefined {
  const created = mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (!POSIX) return undefined;
  // mkdir's mode is filtered by the umask, which only ever removes bits: a new directory is at most 0700.
  if (created !== undefined) return undefined;
  const mode = statSync(dir).mode & 0o777;
  return (mode & SHARED_BITS) === 0 ? undefined : mode;
}

/**
 * Makes each existing file in `files` 0600 (readable and writable by its owner only). Missing
 * ones are skipped, and so are files of another user (EPERM): only their owner may change them.
 */
export function makePrivateFiles(files: readonly string[]): void {
  if (!POSIX) return;
  for (const file of files) {
    try {
      chmodSync(file, PRIVATE_FILE_MODE);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw error;
    }
  }
}

/** `0755` for 0o755: how ls and chmod spell a mode. */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/**
 * Secrets from files, and how strong the cluster secret must be. A secret on the command line is
 * visible to every user of the host (ps, /proc/<pid>/cmdline); one in a file readable only by its
 * owner is not. As ssh does with a private key, a file that the group or others may read is
 * refused rather than trusted: whoever could read it may already know the secret.
 */
import { readFileSync, statSync } from 'node:fs';
import { formatMode } from './storage/file-modes.ts';

/** The strength rule for the cluster secret (docs/security.md): long, and not one or two characters repeated. */
export const SECRET_CHARS_MIN = 16;
export const SECRET_DISTINCT_CHARS_MIN = 8;
export const SECRET_ADVICE = 'generate one with: openssl rand -base64 32';

/** A secret file that cannot be used: missing, empty, or open to other users. */
export class SecretFileError extends Error {
  override readonly name = 'SecretFileError';
}

/** Any permission for the group or others (ssh's "permissions are too open"). */
const SHARED_BITS = 0o077;

/**
 * The secret in `file` (`flag` names the option, for the messages): its content without one
 * trailing newline (as `echo` or an editor leaves it). The file must be its owner's only.
 */
export function readSecretFile(file: string, flag: string): string {
  let text: string;
  try {
    const mode = statSync(file).mode;
    if (process.platform !== 'win32' && (mode & SHARED_BITS) !== 0) {
      throw new SecretFileError(`${flag} ${file} is open to other users (mode ${formatMode(mode)}): chmod 600 it; a secret others can read is not a secret`);
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof SecretFileError) throw error;
    throw new SecretFileError(`${flag} ${file} cannot be read: ${(error as Error).message}`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw new SecretFileError(`${flag} ${file} is empty`);
  return secret;
}

/** Why `secret` is too weak to guard the peer port, or undefined when it is strong enough. */
export function clusterSecretWeakness(secret: string): string | undefined {
  const chars = [...secret];
  const distinct = new Set(chars).size;
  if (chars.length >= SECRET_CHARS_MIN && distinct >= SECRET_DISTINCT_CHARS_MIN) return undefined;
  return `the cluster secret is too weak (${chars.length} characters, ${distinct} different): it needs at least ${SECRET_CHARS_MIN} characters, ${SECRET_DISTINCT_CHARS_MIN} of them different; ${SECRET_ADVICE}`;
}

/**
 * Certificates renewed without a restart: on reload() (SIGHUP, or the files changing on disk) the
 * key pair and CA are read again and handed to every TLS server with setSecureContext. New
 * connections get the new certificate; connections already open keep the one they negotiated
 * (TLS never renegotiates them), so open event streams keep flowing.
 *
 * A bad new pair (unreadable, a key that does not match its certificate, garbage PEM) is logged
 * and the old one kept: the context is built and checked with tls.createSecureContext before any
 * server sees it. A reload whose files did not change does nothing, so a noisy directory costs
 * a few small reads.
 *
 * The files' directories are watched, not the files: renewal tools (certbot, cert-manager,
 * Kubernetes secrets) replace a file by renaming a new one over it, or by swapping a symlink
 * the directory holds, and a watch on the old file would go quiet after the first renewal.
 */
import { X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from '../observability/logger.ts';
import { secureContextOptionsOf, type TlsFiles } from './tls-options.ts';

/** What the reloader needs of a server: tls.Server, https.Server and Http2SecureServer all have it. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export type ReloadOutcome = 'reloaded' | 'unchanged' | 'failed';

export interface CertReloaderOptions {
  readonly logger: Logger;
  /** How long file events settle before a reload (several arrive per renewal). */
  readonly debounceMs?: number;
  /** Which certificate, in the log lines: the clients' (default) or the members' (`peer`). */
  readonly scope?: 'client' | 'peer';
  /** A further check of a new pair (throws why it is refused), after it formed a valid context. */
  readonly check?: (next: SecureContextOptions) => void;
}

const DEBOUNCE_MS = 250;

export class CertReloader {
  private readonly targets: SecureContextTarget[] = [];
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private current: SecureContextOptions;
  private closed = false;

  /** `initial` is what the servers were created with. */
  constructor(private readonly files: TlsFiles, initial: SecureContextOptions, private readonly options: CertReloaderOptions) {
    this.current = initial;
  }

  private get scope(): 'client' | 'peer' {
    return this.options.scope ?? 'client';
  }

  /** A server to give each new context to. */
  add(target: SecureContextTarget): void {
    this.targets.push(target);
  }

  /** Reads the files again; applies them if they changed and form a valid context. Never throws. */
  reload(reason: string): ReloadOutcome {
    const { logger } = this.options;
    let next: SecureContextOptions;
    try {
      next = secureContextOptionsOf(this.files);
      if (sameBytes(next, this.current)) return 'unchanged';
      createSecureContext(next); // throws on a key that does not match, or unreadable PEM
      this.options.check?.(next);
    } catch (error) {
      logger.error({ event: 'tls-reload-failed', scope: this.scope, reason, err: error }, 'could not reload the TLS certificate; keeping the one in use');
      return 'failed';
    }
    for (const target of this.targets) target.setSecureContext(next);
    this.current = next;
    logger.info({ event: 'tls-reloaded', scope: this.scope, reason, ...describe(next.cert) }, 'TLS certificate reloaded');
    return 'reloaded';
  }

  /** Reloads (debounced) whenever something changes in the directories of the files. */
  watch(): void {
    const dirs = new Set([this.files.tlsCert, this.files.tlsKey, this.files.tlsCa].filter((f) => f !== '').map((f) => dirname(f)));
    for (const dir of dirs) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.schedule());
        watcher.on('error', (error) => this.options.logger.warn({ event: 'tls-watch-failed', dir, err: error }, 'stopped watching a certificate directory'));
        this.watchers.push(watcher);
      } catch (error) {
        this.options.logger.warn({ event: 'tls-watch-failed', dir, err: error }, 'cannot watch a certificate directory; reload with SIGHUP');
      }
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const watcher of this.watchers.splice(0)) watcher.close();
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reload('file-changed'), this.options.debounceMs ?? DEBOUNCE_MS);
    this.timer.unref();
  }
}

function sameBytes(a: SecureContextOptions, b: SecureContextOptions): boolean {
  const same = (x: unknown, y: unknown) => (x === undefined && y === undefined) || (Buffer.isBuffer(x) && Buffer.isBuffer(y) && x.equals(y));
  return same(a.cert, b.cert) && same(a.key, b.key) && same(a.ca, b.ca);
}

/** The serving certificate's serial and fingerprint, for the log line. */
function describe(cert: SecureContextOptions['cert']): { serial?: string; fingerprint256?: string } {
  try {
    const x509 = new X509Certificate(cert as Buffer);
    return { serial: x509.serialNumber, fingerprint256: x509.fingerprint256 };
  } catch {
    return {};
  }
}

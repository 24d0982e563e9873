/**
 * The reasons a node refuses to start that are the operator's to fix (a damaged file, a data
 * directory another node holds, a port taken), each as one line: `corral` logs it, prints it on
 * stderr and exits 1. Anything else is a bug, and its stack is what helps.
 */
import type { Config } from './config.ts';
import { DataDirInUseError } from './storage/data-dir-lock.ts';
import { StorageCorruptError } from './storage/storage-error.ts';

/** Errors of listen(2) that mean the address, not the program, is the problem. */
const LISTEN_CODES: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied',
};

export interface Refusal {
  readonly event: string;
  readonly message: string;
}

/** What to tell the operator, or undefined when `error` is not one of the expected refusals. */
export function refusalOf(error: unknown, config: Config): Refusal | undefined {
  if (error instanceof StorageCorruptError) return { event: 'storage-corrupt', message: error.message };
  if (error instanceof DataDirInUseError) return { event: 'data-dir-in-use', message: error.message };
  const listen = listenFailureOf(error);
  if (listen === undefined) return undefined;
  const where = listen.host.includes(':') ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
  const which = portNameOf(listen.port, config);
  return { event: 'listen-failed', message: `cannot listen on ${where}${which}: ${LISTEN_CODES[listen.code]} (${listen.code})` };
}

/** Node's listen errors carry the code, the address and the port as fields. */
function listenFailureOf(error: unknown): { code: string; host: string; port: number } | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall, address, port } = error as NodeJS.ErrnoException & { address?: unknown; port?: unknown };
  if (syscall !== 'listen' || code === undefined || !(code in LISTEN_CODES)) return undefined;
  if (typeof address !== 'string' || typeof port !== 'number') return undefined;
  return { code, host: address, port };
}

function portNameOf(port: number, config: Config): string {
  if (port === config.port) return ' (the HTTP port, --port)';
  const self = config.members.find((m) => m.id === config.id);
  if (self !== undefined && port === self.peer.port) return ' (the peer port, in --members)';
  return '';
}

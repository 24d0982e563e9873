/**
 * `zookeeper://host:port[,host:port...][/chroot]`: the ensemble a gateway serves, as --backend
 * gives it; `zookeeper+tls://` for one whose ports are secureClientPorts (TLS).
 */
import type { ServerAddress } from '../../zookeeper-client/session.ts';

export interface EnsembleAddress {
  readonly servers: readonly ServerAddress[];
  /** '' for none; else `/a/b` (no trailing slash). */
  readonly chroot: string;
  /** zookeeper+tls://: connect with TLS (false or absent: plain TCP unless --zookeeper-tls-* are set). */
  readonly tls?: boolean;
}

const SERVER = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/;
const CHROOT = /^(\/[^/\u0000]+)+$/;

/** The ensemble of a --backend value, or why it is not one (a message for the operator). */
export function parseZooKeeperUrl(raw: string): EnsembleAddress | string {
  const tls = raw.startsWith('zookeeper+tls://');
  if (!tls && !raw.startsWith('zookeeper://')) return `--backend must be zookeeper://host:port[,host:port...][/chroot] (or zookeeper+tls://), got "${raw}"`;
  const rest = raw.slice(tls ? 'zookeeper+tls://'.length : 'zookeeper://'.length);
  const slash = rest.indexOf('/');
  const hosts = slash === -1 ? rest : rest.slice(0, slash);
  const chroot = slash === -1 ? '' : rest.slice(slash).replace(/\/$/, '');
  if (chroot !== '' && !CHROOT.test(chroot)) return `the chroot of --backend must be a path like /apps/corral, got "${rest.slice(slash)}"`;
  const servers: ServerAddress[] = [];
  for (const item of hosts.split(',')) {
    const match = SERVER.exec(item.trim());
    const port = match?.[2] === undefined ? 2181 : Number(match[2]);
    if (!match || port < 1 || port > 65535) return `--backend lists servers as host:port, got "${item}"`;
    servers.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  if (servers.length === 0) return '--backend names no ZooKeeper server';
  return { servers, chroot, tls };
}

/**
 * The CLI's argument checks: what a user typed becomes a typed value here, or a UsageError
 * (exit code 2) that says which argument is wrong — never a request the server would refuse
 * for a reason we can tell in advance.
 */
import { InvalidArgumentError } from 'commander';

/** A mistake in the command line: printed on one line, exit code 2. */
export class UsageError extends Error {}

export const DEFAULT_SERVER = 'http://127.0.0.1:8181';

/** `--server a,b,c`: each a URL or host:port (http:// is assumed), in failover order. */
export function parseServers(value: string): string[] {
  const servers = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) throw new InvalidArgumentError('expected a comma-separated list of servers');
  return servers.map((server) => {
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `http://${server}`;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidArgumentError(`"${server}" is not a URL or host:port`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidArgumentError(`"${server}" is not http(s)`);
    return url.replace(/\/+$/, '');
  });
}

/** `--user user:password`: sent as HTTP Basic, the server's `digest:` identity (zkCli's addauth digest). */
export function parseUser(value: string): string {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new InvalidArgumentError('expected user:password');
  return value;
}

/** A ZooKeeper version (signed 32-bit; -1 means any). */
export function parseVersion(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected an integer version');
  const n = Number(value);
  if (n < -1 || n > 2 ** 31 - 1) throw new InvalidArgumentError('expected a version from -1 to 2147483647');
  return n;
}

/** A positive whole number of milliseconds (or a count). */
export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('expected a positive integer');
  }
  return Number(value);
}

/** A znode path as zkCli takes it: absolute, no empty names, no trailing slash (except "/"). */
export function checkPath(path: string, { sequential = false } = {}): string {
  const bad = !path.startsWith('/') || (path !== '/' && !sequential && path.endsWith('/')) || path.includes('//');
  if (bad) throw new UsageError(`invalid path "${path}": a znode path starts with / and has no empty names`);
  return path;
}

export interface CreateFlags {
  readonly ephemeral?: boolean;
  readonly sequential?: boolean;
  readonly container?: boolean;
  readonly ttl?: number;
}

/** zkCli's `create -e -s -c -t` flags as the API's `mode`, refusing the combinations zkCli refuses. */
export function createMode(flags: CreateFlags): string {
  const { ephemeral = false, sequential = false, container = false, ttl } = flags;
  if (container && (ephemeral || sequential || ttl !== undefined)) throw new UsageError('-c cannot be combined with -e, -s or -t');
  if (ttl !== undefined && ephemeral) throw new UsageError('-t cannot be combined with -e (an ephemeral node lives as long as its session)');
  if (container) return 'container';
  if (ttl !== undefined) return sequential ? 'persistent_sequential_with_ttl' : 'persistent_with_ttl';
  if (ephemeral) return sequential ? 'ephemeral_sequential' : 'ephemeral';
  return sequential ? 'persistent_sequential' : 'persistent';
}

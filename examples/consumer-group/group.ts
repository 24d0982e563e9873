/**
 * What the launcher and the workers share: the command-line options, the group's znode paths,
 * the client (with --user credentials on every request) and the printed events.
 */
// In your own project this import is `from 'corral/client'` (the package's export). Inside this
// repository the example imports the sources, so it never runs against a stale dist/ build.
import { CorralClient, CorralError } from '../../src/client/index.ts';

export interface GroupOptions {
  readonly servers: readonly string[];
  readonly user: string | undefined;
  readonly group: string;
  readonly partitions: number;
  readonly batchSize: number;
  readonly intervalMs: number;
  readonly sessionTimeoutMs: number;
  /** 0: run until stopped. */
  readonly durationMs: number;
  readonly json: boolean;
}

/** The options both main.ts and worker.ts take, for node:util parseArgs. */
export const GROUP_OPTIONS = {
  server: { type: 'string', default: 'http://127.0.0.1:8181' },
  user: { type: 'string' },
  group: { type: 'string', default: 'demo' },
  partitions: { type: 'string', default: '6' },
  'batch-size': { type: 'string', default: '5' },
  'interval-ms': { type: 'string', default: '1000' },
  'session-timeout-ms': { type: 'string', default: '6000' },
  'duration-ms': { type: 'string', default: '0' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

export const GROUP_HELP = `  --server <urls>            comma-separated Corral node URLs, in failover order (default http://127.0.0.1:8181)
  --user <user:password>     credentials sent as HTTP Basic on every request (or CORRAL_USER)
  --group <name>             the group's znodes live under /consumer-groups/<name> (default demo)
  --partitions <n>           partition count written to the config znode if it is missing (default 6)
  --batch-size <n>           records per partition per step, likewise (default 5)
  --interval-ms <ms>         pause between a worker's steps (default 1000)
  --session-timeout-ms <ms>  each worker's session timeout: how long a dead worker keeps its partitions (default 6000)
  --duration-ms <ms>         stop after this long (default 0: until Ctrl-C)
  --json                     print one JSON event per line instead of text`;

/** A mistake on the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

function positiveInt(name: string, text: string, max: number, min = 1): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got "${text}"`);
  return value;
}

export function groupOptionsOf(values: Record<string, string | boolean | undefined>): GroupOptions {
  const text = (name: string) => String(values[name]);
  const servers = text('server').split(',').map((s) => s.trim().replace(/\/+$/, '')).filter((s) => s !== '');
  if (servers.length === 0 || !servers.every((s) => /^https?:\/\/[^/]+$/.test(s))) throw new UsageError(`--server takes http(s)://host:port URLs, got "${text('server')}"`);
  const group = text('group');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(group) || group === '.' || group === '..') throw new UsageError(`--group is one znode name of [A-Za-z0-9_.-], got "${group}"`);
  const user = values.user === undefined ? process.env.CORRAL_USER || undefined : text('user');
  if (user !== undefined && user.indexOf(':') <= 0) throw new UsageError('--user takes user:password');
  return {
    servers, user, group,
    partitions: positiveInt('partitions', text('partitions'), 1024),
    batchSize: positiveInt('batch-size', text('batch-size'), 1000),
    intervalMs: positiveInt('interval-ms', text('interval-ms'), 60_000, 10),
    sessionTimeoutMs: positiveInt('session-timeout-ms', text('session-timeout-ms'), 600_000, 100),
    durationMs: positiveInt('duration-ms', text('duration-ms'), 86_400_000, 0),
    json: values.json === true,
  };
}

/** The group's znodes. */
export class GroupPaths {
  readonly base: string;
  readonly config: string;
  readonly assignment: string;
  readonly leader: string;
  /** ServiceDiscovery's base path: workers register as instances of the service `workers`. */
  readonly members: string;
  readonly offsets: string;

  constructor(group: string) {
    this.base = `/consumer-groups/${group}`;
    this.config = `${this.base}/config`;
    this.assignment = `${this.base}/assignment`;
    this.leader = `${this.base}/leader`;
    this.members = `${this.base}/members`;
    this.offsets = `${this.base}/offsets`;
  }

  offset(partition: number): string {
    return `${this.offsets}/${partition}`;
  }
}

export const SERVICE_NAME = 'workers';

export function clientOf(options: GroupOptions): CorralClient {
  const authorization = options.user && `Basic ${Buffer.from(options.user).toString('base64')}`;
  const withCredentials: typeof fetch = (input, init) => {
    if (!authorization) return fetch(input, init);
    const headers = new Headers(init?.headers); // the client's failover passes a URL and init
    headers.set('Authorization', authorization);
    return fetch(input, { ...init, headers });
  };
  return new CorralClient({ urls: options.servers, fetch: withCredentials, retryForMs: Math.max(5000, options.sessionTimeoutMs) });
}

export function isCode(error: unknown, code: string): boolean {
  return error instanceof CorralError && error.code === code;
}

/** Creates `path` and its missing ancestors as persistent nodes (`data` for the last one). */
export async function ensurePath(client: CorralClient, path: string, data = ''): Promise<void> {
  const names = path.split('/').slice(1);
  for (let depth = 1; depth <= names.length; depth++) {
    const prefix = `/${names.slice(0, depth).join('/')}`;
    await client.create(prefix, depth === names.length ? data : '').catch((error: unknown) => {
      if (!isCode(error, 'NODEEXISTS')) throw error;
    });
  }
}

/** Prints one event: a JSON line with --json, else `[worker] message`. */
export class Reporter {
  constructor(private readonly worker: string, private readonly json: boolean) {}

  event(event: string, fields: Record<string, unknown>, message: string): void {
    const line = this.json
      ? JSON.stringify({ timeMs: Date.now(), worker: this.worker, event, ...fields }, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))
      : `${new Date().toISOString().slice(11, 23)} [${this.worker}] ${message}`;
    process.stdout.write(`${line}\n`);
  }
}

/** Runs an entry point: its answer is the exit code; a usage mistake exits 2 with the usage, a failure 1 with one line. */
export function runMain(main: () => Promise<number>, usage: string): void {
  main().then((code) => {
    process.exitCode = code;
  }, (error: unknown) => {
    const usageError = error instanceof UsageError || String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(usageError ? `${message}\n${usage}\n` : `failed: ${message}${isCode(error, 'CONNECTIONLOSS') ? ' (is a Corral node listening at --server?)' : ''}\n`);
    process.exitCode = usageError ? 2 : 1;
  });
}

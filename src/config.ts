/**
 * Configuration from flags and environment variables (flags win). The only place defaults live.
 */
import { parseArgs } from 'node:util';

/** One member of the cluster: where clients reach it, and where the other members do. */
export interface Member {
  readonly id: number;
  /** host:port of its HTTP API. */
  readonly client: string;
  readonly peer: { readonly host: string; readonly port: number };
}

export interface Config {
  readonly id: number;
  /** Every member, this one included; empty for a single node. */
  readonly members: readonly Member[];
  /** Shared by the members: a peer must prove it knows it before its messages count. */
  readonly clusterSecret: string;
  /** One consensus tick: heartbeats go out every tick, elections start after 10 to 20 silent ones. */
  readonly raftTickMs: number;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly maxDataBytes: number;
  readonly tickTimeMs: number;
  readonly reapIntervalMs: number;
  readonly checkpointEveryEntries: number;
  readonly checkpointChunkNodes: number;
  readonly maxPendingWrites: number;
  readonly minZxidWaitMs: number;
  readonly corsOrigins: readonly string[];
  readonly maxSessions: number;
  readonly maxWatchesPerSession: number;
  readonly maxStreams: number;
  readonly outboxEventsMax: number;
  readonly historyEventsMax: number;
  readonly logLevel: string;
}

interface Option {
  readonly key: keyof Config;
  readonly flag: string;
  readonly env: string;
  readonly kind: 'int' | 'string' | 'list' | 'members';
  /** Smallest value accepted for an int (default 0). */
  readonly min?: number;
  readonly default: number | string | readonly string[] | readonly Member[];
  readonly help: string;
}

export const OPTIONS: readonly Option[] = [
  { key: 'id', flag: 'id', env: 'CORRAL_ID', kind: 'int', default: 1, help: 'this member\'s id' },
  { key: 'members', flag: 'members', env: 'CORRAL_MEMBERS', kind: 'members', default: [], help: 'the cluster: id=clientHost:port/peerHost:port, comma-separated, this node included' },
  { key: 'clusterSecret', flag: 'cluster-secret', env: 'CORRAL_CLUSTER_SECRET', kind: 'string', default: '', help: 'secret shared by the members (needed with --members; at least 16 characters)' },
  { key: 'raftTickMs', flag: 'raft-tick-ms', env: 'CORRAL_RAFT_TICK_MS', kind: 'int', min: 5, default: 100, help: 'consensus tick: heartbeat interval; elections after 10-20 ticks of silence' },
  { key: 'host', flag: 'host', env: 'CORRAL_HOST', kind: 'string', default: '127.0.0.1', help: 'address to listen on' },
  { key: 'port', flag: 'port', env: 'CORRAL_PORT', kind: 'int', default: 8181, help: 'HTTP port (0 picks a free one)' },
  { key: 'dataDir', flag: 'data-dir', env: 'CORRAL_DATA_DIR', kind: 'string', default: './data', help: 'directory of the SQLite file' },
  { key: 'maxDataBytes', flag: 'max-data-bytes', env: 'CORRAL_MAX_DATA_BYTES', kind: 'int', default: 1048576, help: 'largest znode data accepted (413 above)' },
  { key: 'tickTimeMs', flag: 'tick-time-ms', env: 'CORRAL_TICK_TIME_MS', kind: 'int', min: 1, default: 2000, help: 'ZooKeeper tickTime: session timeouts are clamped to [2, 20] ticks' },
  { key: 'reapIntervalMs', flag: 'reap-interval-ms', env: 'CORRAL_REAP_INTERVAL_MS', kind: 'int', min: 1, default: 10000, help: 'how often empty containers and expired TTL nodes are removed' },
  { key: 'checkpointEveryEntries', flag: 'checkpoint-every-entries', env: 'CORRAL_CHECKPOINT_EVERY_ENTRIES', kind: 'int', min: 1, default: 100000, help: 'checkpoint the tree once the log holds this many entries' },
  { key: 'checkpointChunkNodes', flag: 'checkpoint-chunk-nodes', env: 'CORRAL_CHECKPOINT_CHUNK_NODES', kind: 'int', min: 1, default: 5000, help: 'znodes written per SQLite transaction while checkpointing' },
  { key: 'maxPendingWrites', flag: 'max-pending-writes', env: 'CORRAL_MAX_PENDING_WRITES', kind: 'int', default: 10000, help: 'writes in flight before new ones get 429 THROTTLEDOP' },
  { key: 'minZxidWaitMs', flag: 'min-zxid-wait-ms', env: 'CORRAL_MIN_ZXID_WAIT_MS', kind: 'int', default: 2000, help: 'how long a read waits for Zk-Min-Zxid before 503' },
  { key: 'maxSessions', flag: 'max-sessions', env: 'CORRAL_MAX_SESSIONS', kind: 'int', default: 10000, help: 'open sessions before new ones get 429 THROTTLEDOP' },
  { key: 'maxWatchesPerSession', flag: 'max-watches-per-session', env: 'CORRAL_MAX_WATCHES_PER_SESSION', kind: 'int', default: 10000, help: 'watches one session may hold (429 past it)' },
  { key: 'maxStreams', flag: 'max-streams', env: 'CORRAL_MAX_STREAMS', kind: 'int', default: 10000, help: 'open event streams before new ones get 429' },
  { key: 'outboxEventsMax', flag: 'outbox-events-max', env: 'CORRAL_OUTBOX_EVENTS_MAX', kind: 'int', min: 1, default: 10000, help: 'events kept per session for delivery and Last-Event-ID replay' },
  { key: 'historyEventsMax', flag: 'history-events-max', env: 'CORRAL_HISTORY_EVENTS_MAX', kind: 'int', min: 1, default: 100000, help: 'change events kept (at least) for resuming /v1/watch streams from a zxid' },
  { key: 'corsOrigins', flag: 'cors-origins', env: 'CORRAL_CORS_ORIGINS', kind: 'list', default: [], help: 'comma-separated origins allowed by CORS (* for any)' },
  { key: 'logLevel', flag: 'log-level', env: 'CORRAL_LOG_LEVEL', kind: 'string', default: 'info', help: 'pino level: fatal, error, warn, info, debug, silent' },
];

export function defaultConfig(overrides: Partial<Config> = {}): Config {
  const base = Object.fromEntries(OPTIONS.map((o) => [o.key, o.default])) as unknown as Config;
  return { ...base, ...overrides };
}

export class ConfigError extends Error {}

const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function parseAddress(text: string, what: string): { host: string; port: number } {
  const match = ADDRESS.exec(text.trim());
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new ConfigError(`${what} must be host:port, got "${text}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** `1=127.0.0.1:8001/127.0.0.1:9001,2=...`: each member's id, client address and peer address. */
export function parseMembers(raw: string): Member[] {
  const members: Member[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const match = /^(\d+)=([^/]+)\/(.+)$/.exec(item);
    if (!match) throw new ConfigError(`--members entries are id=clientHost:port/peerHost:port, got "${item}"`);
    const id = Number(match[1]);
    if (!Number.isSafeInteger(id) || id < 1) throw new ConfigError(`member ids are positive integers, got "${match[1]}"`);
    if (members.some((m) => m.id === id)) throw new ConfigError(`member ${id} is listed twice`);
    parseAddress(match[2]!, `member ${id}'s client address`);
    members.push({ id, client: match[2]!.trim(), peer: parseAddress(match[3]!, `member ${id}'s peer address`) });
  }
  return members;
}

/** Checks that belong to no single option: the cluster's shape. */
function checkCluster(config: Config): Config {
  if (config.members.length === 0) return config;
  if (!config.members.some((m) => m.id === config.id)) {
    throw new ConfigError(`--id ${config.id} is not one of --members (${config.members.map((m) => m.id).join(', ')})`);
  }
  if (config.members.length > 1 && config.clusterSecret.length < 16) {
    throw new ConfigError('a cluster needs --cluster-secret (CORRAL_CLUSTER_SECRET) of at least 16 characters');
  }
  return config;
}

function convert(option: Option, raw: string): number | string | string[] | Member[] {
  if (option.kind === 'string') return raw;
  if (option.kind === 'members') return parseMembers(raw);
  if (option.kind === 'list') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  const n = Number(raw);
  const min = option.min ?? 0;
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new ConfigError(`--${option.flag} (${option.env}) must be an integer ≥ ${min}, got "${raw}"`);
  }
  return n;
}

/** Parses argv and env; returns undefined when --help was asked for (after printing it). */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config | undefined {
  const parsed = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: 'string' as const }])),
    },
    strict: true,
  });
  if (parsed.values.help) {
    process.stdout.write(helpText());
    return undefined;
  }
  const values: Record<string, unknown> = {};
  for (const option of OPTIONS) {
    const raw = (parsed.values as Record<string, string | undefined>)[option.flag] ?? env[option.env];
    if (raw !== undefined) values[option.key] = convert(option, raw);
  }
  return checkCluster(defaultConfig(values as Partial<Config>));
}

export function helpText(): string {
  const lines = OPTIONS.map((o) => `  --${o.flag.padEnd(26)} ${o.env.padEnd(32)} ${o.help} (default: ${o.kind === 'members' ? 'a single node' : String(o.default) || 'none'})`);
  return `Usage: corral [options]\n\nStarts one Corral node. Every option can also be set by its environment variable.\n\n${lines.join('\n')}\n  --help, -h\n`;
}

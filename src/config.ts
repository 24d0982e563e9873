/**
 * Configuration from flags and environment variables (flags win). The only place defaults live.
 */
import { parseArgs } from 'node:util';
import { parseSuperDigest } from './auth/digest.ts';
import { checkAllowedHost } from './http/edge/host-guard.ts';
import { clusterSecretWeakness, readSecretFile, SecretFileError } from './secret-file.ts';
import { parseZooKeeperUrl } from './backend/zookeeper/zookeeper-url.ts';

/** One member of the cluster: where clients reach it, and where the other members do. */
export interface Member {
  readonly id: number;
  /** host:port of its HTTP API. */
  readonly client: string;
  readonly peer: { readonly host: string; readonly port: number };
  /** A non-voting member (ZooKeeper's observer, etcd's learner): `/observer` after its addresses. */
  readonly observer?: true;
}

export interface Config {
  readonly id: number;
  /** Every member, this one included; empty for a single node. */
  readonly members: readonly Member[];
  /**
   * A running member's client address (host:port) to join through: the cluster's members are read
   * from its /v1/cluster at start (src/node/join.ts); --members then gives only this member's own
   * entry, as a learner (/observer). '' for none.
   */
  readonly join: string;
  /** This member's role: `participant` (votes) or `observer` (never votes); must match its --members entry. */
  readonly role: string;
  /** Shared by the members: a peer must prove it knows it before its messages count. */
  readonly clusterSecret: string;
  /** A file holding the cluster secret (only its owner may read it); loadConfig reads it into clusterSecret. */
  readonly clusterSecretFile: string;
  /** PEM certificate of this member for mutual TLS between members (SAN URI:urn:corral:member:<id>); '' for none. */
  readonly peerTlsCert: string;
  /** PEM private key of peerTlsCert. */
  readonly peerTlsKey: string;
  /** PEM CA bundle the members' certificates are verified against. */
  readonly peerTlsCa: string;
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
  /** Host names (or addresses, port optional) requests may name; `*` any; empty: the loopback names on loopback, else any. */
  readonly allowedHosts: readonly string[];
  readonly maxSessions: number;
  readonly maxWatchesPerSession: number;
  readonly maxStreams: number;
  /** Sessions one caller (its strongest identity, else its address) may hold open; 0 for no limit. */
  readonly maxSessionsPerCaller: number;
  /** Event streams (session streams and /v1/watch) one caller may hold open; 0 for no limit. */
  readonly maxStreamsPerCaller: number;
  /** Open HTTP connections from one client address (ZooKeeper's maxClientCnxns); 0 for no limit. */
  readonly maxConnectionsPerAddress: number;
  /** Requests a second one caller may make (a token bucket); 0 for no limit. */
  readonly maxRequestsPerSecondPerCaller: number;
  /** Requests one caller may make at once above its rate (the bucket's size); 0 for one second's worth. */
  readonly requestBurstPerCaller: number;
  /** Names a getChildren page holds at most, and by default (`limit`); the rest is paged with `after`. */
  readonly maxChildrenPerPage: number;
  readonly outboxEventsMax: number;
  readonly historyEventsMax: number;
  readonly logLevel: string;
  /** ZooKeeper's superDigest (`user:BASE64(SHA1(user:password))`): its holder passes every ACL. '' for none. */
  readonly superDigest: string;
  /** A file holding the superDigest (only its owner may read it); loadConfig reads it into superDigest. */
  readonly superDigestFile: string;
  /** Refuse requests that prove no identity (401), probes excepted. */
  readonly authRequired: boolean;
  /** With authRequired: /metrics answers without credentials too (for a scraper). */
  readonly metricsWithoutAuth: boolean;
  /** On a node without authentication: serve the operator routes (leadership transfer, sessions listing) to callers beyond loopback too. */
  readonly openOperatorRoutes: boolean;
  /** A JWKS file of the keys bearer tokens are signed with; '' accepts no bearer token. */
  readonly jwtJwks: string;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  /** A claim holding the token's groups (`jwt-group:<name>` identities); '' for none. */
  readonly jwtGroupsClaim: string;
  /** Refuse writes past a quota's hard limits (QUOTAEXCEEDED) rather than only log them. */
  readonly enforceQuota: boolean;
  /** Where the audit log goes (one JSON line per write and ACL change); '' for off. */
  readonly auditLog: string;
  /** PEM certificate chain clients are served over TLS (HTTPS, HTTP/2 and HTTP/1.1); '' for plain HTTP. */
  readonly tlsCert: string;
  /** PEM private key of tlsCert. */
  readonly tlsKey: string;
  /** PEM CA bundle client certificates are verified against; '' for none. */
  readonly tlsCa: string;
  /** Whether clients present certificates: none, optional (a verified one is an x509 identity), required. */
  readonly tlsClientAuth: 'none' | 'optional' | 'required';
  /** host:port of a separate listener for /metrics and /v1/cluster (then not on the public one); '' for none. */
  readonly adminListen: string;
  /** '' for the embedded store; `zookeeper://host:port[,host:port...][/chroot]`: a gateway to that ensemble (src/backend/zookeeper/). */
  readonly backend: string;
  /** The secret every gateway of a deployment shares: it seals session tokens (another gateway re-attaches with them). */
  readonly gatewayKey: string;
  /** A file holding gatewayKey (only its owner may read it); loadConfig reads it into gatewayKey. */
  readonly gatewayKeyFile: string;
  /** `user:password`: the digest identity a gateway's ZooKeeper connections authenticate with; '' for none. */
  readonly zookeeperAuth: string;
  /** A file holding zookeeperAuth (only its owner may read it). */
  readonly zookeeperAuthFile: string;
  /** PEM CA bundle the ensemble's certificates are verified against; setting it (or zookeeper+tls://) makes the gateway connect with TLS. */
  readonly zookeeperTlsCa: string;
  /** PEM client certificate the gateway presents to the ensemble's secureClientPort (with zookeeperTlsKey). */
  readonly zookeeperTlsCert: string;
  /** PEM private key of zookeeperTlsCert. */
  readonly zookeeperTlsKey: string;
  /** The ensemble's jute.maxbuffer: a gateway answers a larger request 413 instead of sending it (the server would drop the connection). */
  readonly zookeeperMaxRequestBytes: number;
  /** A gateway keeps a /v1/watch path's ZooKeeper watch this long after its last subscriber, for exact resumes (0: not at all). */
  readonly zookeeperWatchLingerMs: number;
}

interface Option {
  readonly key: keyof Config;
  readonly flag: string;
  readonly env: string;
  readonly kind: 'int' | 'string' | 'list' | 'members' | 'flag';
  /** Smallest value accepted for an int (default 0). */
  readonly min?: number;
  readonly default: number | string | boolean | readonly string[] | readonly Member[];
  readonly help: string;
}

export const OPTIONS: readonly Option[] = [
  { key: 'id', flag: 'id', env: 'CORRAL_ID', kind: 'int', default: 1, help: 'this member\'s id' },
  { key: 'members', flag: 'members', env: 'CORRAL_MEMBERS', kind: 'members', default: [], help: 'the cluster: id=clientHost:port/peerHost:port[/observer], comma-separated, this node included' },
  { key: 'join', flag: 'join', env: 'CORRAL_JOIN', kind: 'string', default: '', help: 'a running member\'s client host:port: start as a new learner of its cluster (read from its /v1/cluster); --members gives only this member\'s own entry, with /observer' },
  { key: 'role', flag: 'role', env: 'CORRAL_ROLE', kind: 'string', default: 'participant', help: 'participant (votes) or observer (replicates and serves, never votes); must match this member\'s --members entry' },
  { key: 'clusterSecret', flag: 'cluster-secret', env: 'CORRAL_CLUSTER_SECRET', kind: 'string', default: '', help: 'secret shared by the members (needed with --members unless --peer-tls-* are set; at least 16 characters)' },
  { key: 'clusterSecretFile', flag: 'cluster-secret-file', env: 'CORRAL_CLUSTER_SECRET_FILE', kind: 'string', default: '', help: 'file holding the cluster secret (mode 0600; one trailing newline ignored): keeps it out of the process list' },
  { key: 'peerTlsCert', flag: 'peer-tls-cert', env: 'CORRAL_PEER_TLS_CERT', kind: 'string', default: '', help: 'PEM certificate of this member for mutual TLS with the others; names its id in SAN URI:urn:corral:member:<id>' },
  { key: 'peerTlsKey', flag: 'peer-tls-key', env: 'CORRAL_PEER_TLS_KEY', kind: 'string', default: '', help: 'PEM private key of --peer-tls-cert' },
  { key: 'peerTlsCa', flag: 'peer-tls-ca', env: 'CORRAL_PEER_TLS_CA', kind: 'string', default: '', help: 'PEM CA bundle the members\' certificates are verified against (with --peer-tls-cert)' },
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
  { key: 'maxSessionsPerCaller', flag: 'max-sessions-per-caller', env: 'CORRAL_MAX_SESSIONS_PER_CALLER', kind: 'int', default: 1000, help: 'open sessions one caller (its identity, else its address) may hold before 429; 0 for no limit' },
  { key: 'maxStreamsPerCaller', flag: 'max-streams-per-caller', env: 'CORRAL_MAX_STREAMS_PER_CALLER', kind: 'int', default: 1000, help: 'open event streams one caller may hold before 429; 0 for no limit' },
  { key: 'maxConnectionsPerAddress', flag: 'max-connections-per-address', env: 'CORRAL_MAX_CONNECTIONS_PER_ADDRESS', kind: 'int', default: 1024, help: 'open HTTP connections from one client address (ZooKeeper\'s maxClientCnxns); more are closed; 0 for no limit' },
  { key: 'maxRequestsPerSecondPerCaller', flag: 'max-requests-per-second-per-caller', env: 'CORRAL_MAX_REQUESTS_PER_SECOND_PER_CALLER', kind: 'int', default: 0, help: 'requests a second one caller may make (token bucket) before 429; 0 for no limit' },
  { key: 'requestBurstPerCaller', flag: 'request-burst-per-caller', env: 'CORRAL_REQUEST_BURST_PER_CALLER', kind: 'int', default: 0, help: 'requests one caller may make at once above its rate; 0 for one second\'s worth' },
  { key: 'maxChildrenPerPage', flag: 'max-children-per-page', env: 'CORRAL_MAX_CHILDREN_PER_PAGE', kind: 'int', min: 1, default: 10000, help: 'names one getChildren answer holds at most (more: paged with ?after=)' },
  { key: 'outboxEventsMax', flag: 'outbox-events-max', env: 'CORRAL_OUTBOX_EVENTS_MAX', kind: 'int', min: 1, default: 10000, help: 'events kept per session for delivery and Last-Event-ID replay' },
  { key: 'historyEventsMax', flag: 'history-events-max', env: 'CORRAL_HISTORY_EVENTS_MAX', kind: 'int', min: 1, default: 100000, help: 'change events kept (at least) for resuming /v1/watch streams from a zxid' },
  { key: 'corsOrigins', flag: 'cors-origins', env: 'CORRAL_CORS_ORIGINS', kind: 'list', default: [], help: 'comma-separated origins allowed by CORS (* for any)' },
  { key: 'allowedHosts', flag: 'allowed-hosts', env: 'CORRAL_ALLOWED_HOSTS', kind: 'list', default: [], help: 'comma-separated Host names or addresses (port optional) requests may name, * for any; others get 403 (default: localhost, 127.0.0.1 and [::1] when bound to loopback, else any)' },
  { key: 'logLevel', flag: 'log-level', env: 'CORRAL_LOG_LEVEL', kind: 'string', default: 'info', help: 'pino level: fatal, error, warn, info, debug, silent' },
  { key: 'superDigest', flag: 'super-digest', env: 'CORRAL_SUPER_DIGEST', kind: 'string', default: '', help: 'superuser as ZooKeeper\'s superDigest, user:BASE64(SHA1(user:password)); passes every ACL' },
  { key: 'superDigestFile', flag: 'super-digest-file', env: 'CORRAL_SUPER_DIGEST_FILE', kind: 'string', default: '', help: 'file holding the superDigest (mode 0600; one trailing newline ignored)' },
  { key: 'authRequired', flag: 'auth-required', env: 'CORRAL_AUTH_REQUIRED', kind: 'flag', default: false, help: 'refuse (401) requests that prove no identity; /healthz and /readyz excepted' },
  { key: 'metricsWithoutAuth', flag: 'metrics-without-auth', env: 'CORRAL_METRICS_WITHOUT_AUTH', kind: 'flag', default: false, help: 'with --auth-required, let /metrics answer without credentials' },
  { key: 'openOperatorRoutes', flag: 'open-operator-routes', env: 'CORRAL_OPEN_OPERATOR_ROUTES', kind: 'flag', default: false, help: 'on a node without authentication, let callers beyond loopback move leadership and list sessions (by default only loopback callers and the admin listener may)' },
  { key: 'jwtJwks', flag: 'jwt-jwks', env: 'CORRAL_JWT_JWKS', kind: 'string', default: '', help: 'JWKS file of the keys that sign accepted bearer tokens (read at start; never fetched)' },
  { key: 'jwtIssuer', flag: 'jwt-issuer', env: 'CORRAL_JWT_ISSUER', kind: 'string', default: '', help: 'the iss a bearer token must carry (needed with --jwt-jwks)' },
  { key: 'jwtAudience', flag: 'jwt-audience', env: 'CORRAL_JWT_AUDIENCE', kind: 'string', default: '', help: 'the aud a bearer token must carry (needed with --jwt-jwks)' },
  { key: 'jwtGroupsClaim', flag: 'jwt-groups-claim', env: 'CORRAL_JWT_GROUPS_CLAIM', kind: 'string', default: '', help: 'claim whose strings become jwt-group:<name> identities' },
  { key: 'enforceQuota', flag: 'enforce-quota', env: 'CORRAL_ENFORCE_QUOTA', kind: 'flag', default: false, help: 'refuse writes past a /zookeeper/quota hard limit (QUOTAEXCEEDED) instead of logging them' },
  { key: 'auditLog', flag: 'audit-log', env: 'CORRAL_AUDIT_LOG', kind: 'string', default: '', help: 'file for the audit log (a JSON line per write and ACL change); off when empty' },
  { key: 'tlsCert', flag: 'tls-cert', env: 'CORRAL_TLS_CERT', kind: 'string', default: '', help: 'PEM certificate (chain) to serve clients HTTPS with (HTTP/2 and HTTP/1.1); reloaded on SIGHUP and when the file changes' },
  { key: 'tlsKey', flag: 'tls-key', env: 'CORRAL_TLS_KEY', kind: 'string', default: '', help: 'PEM private key of --tls-cert' },
  { key: 'tlsCa', flag: 'tls-ca', env: 'CORRAL_TLS_CA', kind: 'string', default: '', help: 'PEM CA bundle that client certificates are verified against' },
  { key: 'tlsClientAuth', flag: 'tls-client-auth', env: 'CORRAL_TLS_CLIENT_AUTH', kind: 'string', default: 'none', help: 'client certificates: none, optional (a verified one is an x509: identity) or required (needs --tls-ca)' },
  { key: 'adminListen', flag: 'admin-listen', env: 'CORRAL_ADMIN_LISTEN', kind: 'string', default: '', help: 'host:port serving /metrics, /v1/cluster and /v1/admin/backup (with TLS when --tls-cert is set) instead of the public listener' },
  { key: 'backend', flag: 'backend', env: 'CORRAL_BACKEND', kind: 'string', default: '', help: 'zookeeper://host:port[,host:port...][/chroot]: serve the API in front of that ZooKeeper ensemble (a gateway keeping no znode state); empty for the embedded store' },
  { key: 'gatewayKey', flag: 'gateway-key', env: 'CORRAL_GATEWAY_KEY', kind: 'string', default: '', help: 'with --backend zookeeper://: the secret all gateways share (at least 16 characters); seals session tokens' },
  { key: 'gatewayKeyFile', flag: 'gateway-key-file', env: 'CORRAL_GATEWAY_KEY_FILE', kind: 'string', default: '', help: 'file holding the gateway key (mode 0600): keeps it out of the process list' },
  { key: 'zookeeperAuth', flag: 'zookeeper-auth', env: 'CORRAL_ZOOKEEPER_AUTH', kind: 'string', default: '', help: 'with --backend zookeeper://: user:password of the digest identity the gateway\'s ZooKeeper connections authenticate with (addauth digest)' },
  { key: 'zookeeperAuthFile', flag: 'zookeeper-auth-file', env: 'CORRAL_ZOOKEEPER_AUTH_FILE', kind: 'string', default: '', help: 'file holding --zookeeper-auth (mode 0600)' },
  { key: 'zookeeperTlsCa', flag: 'zookeeper-tls-ca', env: 'CORRAL_ZOOKEEPER_TLS_CA', kind: 'string', default: '', help: 'with --backend: PEM CA bundle the ZooKeeper servers\' certificates are verified against; connects to their secureClientPort with TLS (as zookeeper+tls:// does)' },
  { key: 'zookeeperTlsCert', flag: 'zookeeper-tls-cert', env: 'CORRAL_ZOOKEEPER_TLS_CERT', kind: 'string', default: '', help: 'with --backend: PEM client certificate the gateway presents to ZooKeeper over TLS' },
  { key: 'zookeeperTlsKey', flag: 'zookeeper-tls-key', env: 'CORRAL_ZOOKEEPER_TLS_KEY', kind: 'string', default: '', help: 'PEM private key of --zookeeper-tls-cert' },
  { key: 'zookeeperMaxRequestBytes', flag: 'zookeeper-max-request-bytes', env: 'CORRAL_ZOOKEEPER_MAX_REQUEST_BYTES', kind: 'int', min: 1024, default: 1048575, help: 'with --backend: the ensemble\'s jute.maxbuffer (ZooKeeper\'s default 1048575); a larger request is answered 413 and not sent (the server would close the gateway\'s connection)' },
  { key: 'zookeeperWatchLingerMs', flag: 'zookeeper-watch-linger-ms', env: 'CORRAL_ZOOKEEPER_WATCH_LINGER_MS', kind: 'int', min: 0, default: 30000, help: 'with --backend: how long a /v1/watch path\'s ZooKeeper watch is kept after its last subscriber leaves, so a stream that reconnects within it resumes exactly from Last-Event-ID (0: removed at once)' },
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

/**
 * `1=127.0.0.1:8001/127.0.0.1:9001,2=...`: each member's id, client address and peer address,
 * then `/observer` for a non-voting member (ZooKeeper's `server.4=…:observer`; `/participant` is the default).
 */
export function parseMembers(raw: string): Member[] {
  const members: Member[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const match = /^(\d+)=([^/]+)\/([^/]+?)(?:\/(observer|participant))?$/.exec(item);
    if (!match) throw new ConfigError(`--members entries are id=clientHost:port/peerHost:port[/observer], got "${item}"`);
    const id = Number(match[1]);
    if (!Number.isSafeInteger(id) || id < 1) throw new ConfigError(`member ids are positive integers, got "${match[1]}"`);
    if (members.some((m) => m.id === id)) throw new ConfigError(`member ${id} is listed twice`);
    parseAddress(match[2]!, `member ${id}'s client address`);
    const observer = match[4] === 'observer' ? { observer: true as const } : {};
    members.push({ id, client: match[2]!.trim(), peer: parseAddress(match[3]!, `member ${id}'s peer address`), ...observer });
  }
  return members;
}

const ROLES = ['participant', 'observer'];

/** --role and this member's --members entry agree: a member never guesses whether it votes. */
function checkRole(config: Config): void {
  if (!ROLES.includes(config.role)) throw new ConfigError(`--role (CORRAL_ROLE) is participant or observer, got "${config.role}"`);
  const self = config.members.find((m) => m.id === config.id);
  const listed = self?.observer ? 'observer' : 'participant';
  if (config.members.length === 0 && config.role === 'observer') throw new ConfigError('--role observer needs --members, with this member marked /observer');
  // A member missing from --members is refused by checkCluster.
  if (self === undefined) return;
  if (listed !== config.role) {
    throw new ConfigError(`--role is ${config.role} but --members lists member ${config.id} as ${listed === 'observer' ? 'an observer (/observer)' : 'a participant (no /observer)'}; give both the same role`);
  }
}

/** Checks that belong to no single option: the cluster's shape. */
function checkCluster(config: Config): Config {
  checkRole(config);
  if (config.members.length === 0) return config;
  // With --join the voters come from the running member (src/node/join.ts).
  if (config.join === '' && config.members.every((m) => m.observer)) throw new ConfigError('--members names only observers: at least one member must vote');
  if (!config.members.some((m) => m.id === config.id)) {
    throw new ConfigError(`--id ${config.id} is not one of --members (${config.members.map((m) => m.id).join(', ')})`);
  }
  if (config.join !== '' && !config.members.find((m) => m.id === config.id)?.observer) {
    throw new ConfigError('--join starts a new member as a learner: give its own --members entry /observer, and --role observer');
  }
  checkPeerSecurity(config);
  return config;
}

/** Members authenticate each other with the cluster secret, mutual TLS, or both. */
function checkPeerSecurity(config: Config): void {
  const tlsParts = [config.peerTlsCert, config.peerTlsKey, config.peerTlsCa].filter((part) => part !== '').length;
  if (tlsParts !== 0 && tlsParts !== 3) throw new ConfigError('--peer-tls-cert, --peer-tls-key and --peer-tls-ca go together');
  const weakness = config.clusterSecret === '' ? undefined : clusterSecretWeakness(config.clusterSecret);
  if (weakness !== undefined) throw new ConfigError(weakness);
  if ((config.members.length > 1 || config.join !== '') && config.clusterSecret === '' && tlsParts === 0) {
    throw new ConfigError('a cluster needs --cluster-secret (CORRAL_CLUSTER_SECRET) of at least 16 characters, or --peer-tls-cert, --peer-tls-key and --peer-tls-ca');
  }
}

/** Checks of the identity options: a superDigest ZooKeeper would read, a JWT setup that is whole. */
function checkAuth(config: Config): Config {
  if (config.superDigest !== '' && parseSuperDigest(config.superDigest) === undefined) {
    throw new ConfigError('--super-digest must be user:BASE64(SHA1(user:password)), as ZooKeeper\'s superDigest');
  }
  if (config.jwtJwks !== '' && (config.jwtIssuer === '' || config.jwtAudience === '')) {
    throw new ConfigError('--jwt-jwks needs --jwt-issuer and --jwt-audience');
  }
  return config;
}

const CLIENT_AUTH = ['none', 'optional', 'required'];

/** Checks of the TLS and admin-listener options: a whole key pair, a CA when certificates are asked for. */
function checkTls(config: Config): Config {
  if ((config.tlsCert === '') !== (config.tlsKey === '')) throw new ConfigError('--tls-cert and --tls-key go together');
  if (!CLIENT_AUTH.includes(config.tlsClientAuth)) {
    throw new ConfigError(`--tls-client-auth (CORRAL_TLS_CLIENT_AUTH) is none, optional or required, got "${config.tlsClientAuth}"`);
  }
  if (config.tlsClientAuth !== 'none' && (config.tlsCa === '' || config.tlsCert === '')) {
    throw new ConfigError(`--tls-client-auth ${config.tlsClientAuth} needs --tls-cert, --tls-key and --tls-ca`);
  }
  if (config.tlsCa !== '' && config.tlsCert === '') throw new ConfigError('--tls-ca needs --tls-cert and --tls-key');
  adminAddressOf(config);
  return config;
}

/** `host:port` of --admin-listen, IPv6 brackets removed; port 0 picks a free one (as --port 0 does). */
export function adminAddressOf(config: Config): { host: string; port: number } | undefined {
  if (config.adminListen === '') return undefined;
  const match = ADDRESS.exec(config.adminListen.trim());
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new ConfigError(`--admin-listen (CORRAL_ADMIN_LISTEN) must be host:port, got "${config.adminListen}"`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * Reads the secrets given as files into their options, and warns of a secret given on the
 * command line (every user of the host can read a process's arguments).
 */
function withSecretFiles(config: Config, onCommandLine: (flag: string) => boolean, warn: (message: string) => void): Config {
  if (onCommandLine('cluster-secret')) {
    warn('--cluster-secret on the command line is visible to every user of this host (ps, /proc); use --cluster-secret-file or CORRAL_CLUSTER_SECRET');
  }
  return {
    ...config,
    clusterSecret: secretFrom(config.clusterSecret, config.clusterSecretFile, 'cluster-secret'),
    superDigest: secretFrom(config.superDigest, config.superDigestFile, 'super-digest'),
    gatewayKey: secretFrom(config.gatewayKey, config.gatewayKeyFile, 'gateway-key'),
    zookeeperAuth: secretFrom(config.zookeeperAuth, config.zookeeperAuthFile, 'zookeeper-auth'),
  };
}

function secretFrom(value: string, file: string, flag: string): string {
  if (file === '') return value;
  if (value !== '') throw new ConfigError(`give --${flag} or --${flag}-file, not both`);
  try {
    return readSecretFile(file, `--${flag}-file`);
  } catch (error) {
    throw error instanceof SecretFileError ? new ConfigError(error.message) : error;
  }
}

function convert(option: Option, raw: string | boolean): number | string | boolean | string[] | Member[] {
  if (typeof raw === 'boolean') return raw;
  if (option.kind === 'flag') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off|)$/i.test(raw)) return false;
    throw new ConfigError(`${option.env} is a switch: true or false, got "${raw}"`);
  }
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

/**
 * Parses argv and env; returns undefined when --help was asked for (after printing it). `warn`
 * hears of settings that work but should change (main.ts logs them once the logger exists).
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv, warn: (message: string) => void = () => undefined): Config | undefined {
  const parsed = parseArgs({
    args: argv,
    options: {
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: o.kind === 'flag' ? 'boolean' as const : 'string' as const }])),
    },
    strict: true,
  });
  if (parsed.values.help) {
    process.stdout.write(helpText());
    return undefined;
  }
  const values: Record<string, unknown> = {};
  for (const option of OPTIONS) {
    const raw = (parsed.values as Record<string, string | boolean | undefined>)[option.flag] ?? env[option.env];
    if (raw !== undefined) values[option.key] = convert(option, raw);
  }
  const given = parsed.values as Record<string, unknown>;
  const config = withSecretFiles(defaultConfig(values as Partial<Config>), (flag) => given[flag] !== undefined, warn);
  return checkGateway(checkAllowedHosts(checkTls(checkAuth(checkCluster(config)))));
}

/** A gateway names its ensemble in the URL form, and has the key its tokens are sealed with. */
function checkGateway(config: Config): Config {
  if (config.backend === '') return config;
  const ensemble = parseZooKeeperUrl(config.backend);
  if (typeof ensemble === 'string') throw new ConfigError(ensemble);
  if (config.gatewayKey.length < 16) throw new ConfigError('--backend zookeeper:// needs --gateway-key (CORRAL_GATEWAY_KEY or --gateway-key-file) of at least 16 characters, the same on every gateway');
  if (config.members.length > 0) throw new ConfigError('--backend zookeeper:// keeps no state of its own: it takes no --members');
  if (config.zookeeperAuth !== '' && !/^[^:]+:.+$/.test(config.zookeeperAuth)) throw new ConfigError('--zookeeper-auth is user:password (ZooKeeper\'s digest scheme)');
  if ((config.zookeeperTlsCert === '') !== (config.zookeeperTlsKey === '')) throw new ConfigError('--zookeeper-tls-cert and --zookeeper-tls-key go together');
  return config;
}

/** Every --allowed-hosts entry names a host (see http/edge/host-guard.ts). */
function checkAllowedHosts(config: Config): Config {
  try {
    config.allowedHosts.forEach(checkAllowedHost);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  return config;
}

export function helpText(): string {
  const lines = OPTIONS.map((o) => `  --${o.flag.padEnd(26)} ${o.env.padEnd(32)} ${o.help} (default: ${o.kind === 'members' ? 'a single node' : o.kind === 'flag' ? 'off' : String(o.default) || 'none'})`);
  return `Usage: corral [options]\n\nStarts one Corral node. Every option can also be set by its environment variable.\n\n${lines.join('\n')}\n  --help, -h\n`;
}

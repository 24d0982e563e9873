/**
 * Starts a node and its HTTP server; used by main.ts and by tests that want a real server
 * in-process. Closing is graceful: stop accepting, finish writes in flight, close the database.
 *
 * Plain HTTP: node:http behind the wire path (http/wire/). With --tls-cert: HTTPS with HTTP/2 and
 * HTTP/1.1 (tls/secure-listener.ts), certificates reloaded without a restart (tls/cert-reloader.ts).
 * With --admin-listen, /metrics and /v1/cluster move to a listener of their own (tls/admin-listener.ts).
 */
import { getRequestListener, RequestError } from '@hono/node-server';
import type { Hono } from 'hono';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { adminAddressOf, defaultConfig, type Config } from './config.ts';
import { zkError } from './core/errors.ts';
import { errorBody } from './http/errors.ts';
import { EmbeddedBackend } from './backend/embedded/embedded-backend.ts';
import type { AppDeps } from './http/app-deps.ts';
import { createApp } from './http/app.ts';
import { Authenticator } from './auth/authenticator.ts';
import { loadJwtVerifier } from './auth/jwt.ts';
import { withFastPath, type RequestListener } from './http/fast-path.ts';
import { installWirePath, type WirePath } from './http/wire/wire-server.ts';
import { serveStreamsDirectly } from './http/sse-sink.ts';
import { limitConnections } from './http/limits/connection-limit.ts';
import { CorralNode } from './node/corral-node.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { adminAppOf, createAdminServer, publicAppOf } from './tls/admin-listener.ts';
import { CertReloader, type ReloadOutcome, type SecureContextTarget } from './tls/cert-reloader.ts';
import { peerCertReloader } from './tls/peer-cert-reloader.ts';
import { createSecureListener, withoutConnectionHeaders, type AnyRequestListener } from './tls/secure-listener.ts';
import { serverTlsOptionsOf, tlsEnabled } from './tls/tls-options.ts';

export interface RunningServer {
  /** The public listener: `https://…` with TLS. */
  readonly url: string;
  /** The admin listener (/metrics, /v1/cluster), when --admin-listen is set. */
  readonly adminUrl: string | undefined;
  readonly node: CorralNode;
  /** Reads the TLS certificate, key and CA again (what SIGHUP does); 'disabled' without TLS. */
  reloadTls(reason?: string): ReloadOutcome | 'disabled';
  /** Reads the peer certificate, key and CA again (--peer-tls-*; SIGHUP does it too); 'disabled' without peer TLS. */
  reloadPeerTls(reason?: string): ReloadOutcome | 'disabled';
  close(): Promise<void>;
}

export interface ServerOptions extends Partial<Config> {
  readonly logger?: Logger;
}

/** What the HTTP layer is given: the embedded node behind the Backend interface. */
export function appDepsOf(node: CorralNode, logger: Logger, nowMs: () => number, authenticator = new Authenticator({ superDigest: node.config.superDigest || undefined, nowMs })): AppDeps {
  return { backend: new EmbeddedBackend(node, nowMs), authenticator, metrics: node.metrics, config: node.config, logger, nowMs };
}

/** The authenticate step as configured: the superuser, and the JWT keys read once from their file. */
export async function authenticatorOf(config: Config, nowMs: () => number): Promise<Authenticator> {
  const jwt = config.jwtJwks === '' ? undefined : await loadJwtVerifier({
    jwksFile: config.jwtJwks, issuer: config.jwtIssuer, audience: config.jwtAudience,
    ...(config.jwtGroupsClaim === '' ? {} : { groupsClaim: config.jwtGroupsClaim }),
  });
  return new Authenticator({ superDigest: config.superDigest || undefined, jwt, nowMs });
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/** ZooKeeper leaves a node open by default too; on a real network without auth or TLS, say so. */
export function warnIfOpen(config: Config, logger: Logger): void {
  const warning = openNodeWarning(config);
  if (warning !== undefined) logger.warn({ event: 'open-node', host: config.host }, warning);
}

/** The start-up warning of a node reachable beyond loopback with neither --auth-required nor TLS. */
export function openNodeWarning(config: Pick<Config, 'authRequired' | 'host' | 'tlsCert'>): string | undefined {
  if (config.authRequired || tlsEnabled(config) || LOOPBACK.test(config.host)) return undefined;
  return `listening on ${config.host} without --auth-required or TLS: anyone who reaches this address may read and change every znode an ACL does not protect`;
}

/** A listening server and how it is shut down: stop taking requests, then end what is left. */
export interface Listening {
  readonly server: NetServer;
  /** The server again when it speaks TLS: what certificate reloads go to. */
  readonly secure?: SecureContextTarget;
  /** Stop taking new requests (idle connections go; in-flight requests finish). */
  quiesce(): void;
  /** End every connection still open (event streams included). */
  destroy(): void;
}

/**
 * A request @hono/node-server could not make a Request of (a Host or target a URL cannot hold):
 * the contract's 400 body rather than its bare one. Anything else thrown before the app answered
 * is the node's fault: logged, and a 500 in the same shape.
 */
function unreadableRequest(deps: AppDeps, error: unknown): Response {
  if (error instanceof RequestError) {
    return Response.json(errorBody(zkError('BADARGUMENTS', `the request could not be read: ${error.message}`)), { status: 400 });
  }
  deps.logger.error({ err: error, event: 'request-failed' }, 'the app failed before answering');
  return Response.json(errorBody(zkError('SYSTEMERROR', 'internal error')), { status: 500 });
}

/** The public listener: the direct path in front of the Hono app, over TLS or behind the wire path. */
export function publicListener(deps: AppDeps, app: Hono, config: Config, tls: ReturnType<typeof serverTlsOptionsOf> | undefined): Listening {
  // Event streams are written to the Node response directly, with the head as it stands last (http/sse-sink.ts).
  const appListener = getRequestListener(serveStreamsDirectly(tls === undefined ? app.fetch : withoutConnectionHeaders(app.fetch)), {
    hostname: config.host, errorHandler: (error) => unreadableRequest(deps, error),
  });
  if (tls !== undefined) {
    // The direct path reads only what IncomingMessage and Http2ServerRequest share (url, method,
    // headers, socket address, the body's stream) and writes with writeHead/end, which both have.
    const secure = createSecureListener(tls, withFastPath(deps, appListener as RequestListener) as AnyRequestListener);
    return { server: secure.server, secure: secure.server, quiesce: () => secure.shutdown(), destroy: () => secure.destroy() };
  }
  // The Hono app behind the direct path for plain znode calls (see http/fast-path.ts), and
  // the wire path in front of both for connections that only make plain calls (http/wire/).
  const plain = createServer(withFastPath(deps, appListener));
  const wire: WirePath = installWirePath(plain, deps);
  return {
    server: plain,
    quiesce() {
      plain.closeIdleConnections();
      wire.close();
    },
    destroy() {
      plain.closeAllConnections();
      wire.destroy();
    },
  };
}

function adminListener(server: HttpServer): Listening {
  return { server, quiesce: () => server.closeIdleConnections(), destroy: () => server.closeAllConnections() };
}

export function listen(server: NetServer, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export function urlOf(scheme: string, host: string, port: number): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const { logger: given, ...overrides } = options;
  const config = defaultConfig({ logLevel: given ? 'info' : 'silent', ...overrides });
  const logger = given ?? createLogger(config.logLevel);
  const nowMs = () => Date.now();
  const authenticator = await authenticatorOf(config, nowMs);
  // Read before the node opens its database: a missing or bad certificate fails the start cleanly.
  const tls = tlsEnabled(config) ? serverTlsOptionsOf(config) : undefined;
  const node = new CorralNode(config, { logger, nowMs });
  const deps = appDepsOf(node, logger, nowMs, authenticator);
  warnIfOpen(config, logger);
  const app = createApp(deps);
  const admin = adminAddressOf(config);
  const listeners: Listening[] = [];
  const reloader = tls === undefined ? undefined : new CertReloader(config, tls, { logger });
  let peerReloader: CertReloader | undefined;
  try {
    peerReloader = peerCertReloader(config, node.peers.tlsTarget, logger);
    const main = publicListener(deps, admin === undefined ? app : publicAppOf(app, deps), config, tls);
    limitConnections(main.server, { maxPerAddress: config.maxConnectionsPerAddress, onRefused: () => deps.metrics.limitRefused('connections_per_address') });
    listeners.push(main);
    if (main.secure) reloader?.add(main.secure);
    const address = await listen(main.server, config.port, config.host);
    let adminUrl: string | undefined;
    if (admin !== undefined) {
      const adminServer = createAdminServer(adminAppOf(app, deps), tls);
      listeners.push(adminListener(adminServer));
      if (adminServer instanceof TlsServer) reloader?.add(adminServer);
      const adminAddress = await listen(adminServer, admin.port, admin.host);
      adminUrl = urlOf(tls ? 'https' : 'http', admin.host, adminAddress.port);
    }
    reloader?.watch();
    await node.start();
    const url = urlOf(tls ? 'https' : 'http', config.host, address.port);
    logger.info({ event: 'listening', url, adminUrl, tls: tls !== undefined, dataDir: config.dataDir }, 'corral is serving');
    return {
      url, adminUrl, node,
      reloadTls: (reason = 'requested') => reloader?.reload(reason) ?? 'disabled',
      reloadPeerTls: (reason = 'requested') => peerReloader?.reload(reason) ?? 'disabled',
      close: () => {
        peerReloader?.close();
        return stop(listeners, node, reloader);
      },
    };
  } catch (error) {
    reloader?.close();
    peerReloader?.close();
    for (const l of listeners) {
      l.destroy();
      l.server.close();
    }
    await node.close();
    throw error;
  }
}

async function stop(listeners: readonly Listening[], node: CorralNode, reloader: CertReloader | undefined): Promise<void> {
  reloader?.close();
  const closed = Promise.all(listeners.map((l) => new Promise<void>((resolve) => l.server.close(() => resolve()))));
  // Long-lived streams would hold close() open; in-flight writes still finish in node.close().
  for (const l of listeners) l.quiesce();
  await node.close();
  for (const l of listeners) l.destroy();
  await closed;
}

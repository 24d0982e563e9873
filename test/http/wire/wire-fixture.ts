/**
 * A node behind node:http with the wire path installed, wired as src/server.ts wires it but with
 * the http.Server in hand (so a test can set its timeouts and connection limit), a logger whose
 * lines the test can read, and raw-socket helpers with bounded waits.
 */
import { getRequestListener } from '@hono/node-server';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { defaultConfig, type Config } from '../../../src/config.ts';
import type { AppDeps } from '../../../src/http/app-deps.ts';
import { createApp } from '../../../src/http/app.ts';
import { withFastPath } from '../../../src/http/fast-path.ts';
import { installWirePath } from '../../../src/http/wire/wire-server.ts';
import { CorralNode } from '../../../src/node/corral-node.ts';
import { appDepsOf } from '../../../src/server.ts';

export interface WireServer {
  readonly server: Server;
  readonly deps: AppDeps;
  readonly port: number;
  /** Every log line, parsed. */
  readonly logs: { level: number; event?: string; msg?: string }[];
  close(): Promise<void>;
}

export async function startWireServer(overrides: Partial<Config> = {}): Promise<WireServer> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-wire-'));
  const config = defaultConfig({ port: 0, dataDir: dir, reapIntervalMs: 3_600_000, ...overrides });
  const logs: WireServer['logs'] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const node = new CorralNode(config, { logger, nowMs: () => Date.now() });
  const deps = appDepsOf(node, logger, () => Date.now());
  const server = createServer(withFastPath(deps, getRequestListener(createApp(deps).fetch, { hostname: config.host })));
  const wire = installWirePath(server, deps);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await node.start();
  return {
    server, deps, logs, port: (server.address() as AddressInfo).port,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      wire.destroy();
      server.closeAllConnections();
      await closed;
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A raw connection that keeps what it receives and says when it closed. */
export class RawConnection {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  closed = false;
  private readonly chunks: Buffer[] = [];

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.received = Buffer.concat(this.chunks);
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
  }

  get text(): string {
    return this.received.toString('latin1');
  }

  /** Waits until `done()` holds, or fails after `boundMs`. */
  async until(done: () => boolean, what: string, boundMs = 10_000): Promise<void> {
    const deadline = Date.now() + boundMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`not ${what} within ${boundMs} ms; received: ${this.text}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 25);
        this.socket.once('data', () => { clearTimeout(timer); resolve(undefined); });
      });
    }
  }

  /** Waits (bounded) for the server to close the connection; how long it took. */
  async whenClosed(boundMs = 10_000): Promise<number> {
    const started = Date.now();
    if (!this.closed) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`still open after ${boundMs} ms; received: ${this.text}`)), boundMs);
        this.socket.once('close', () => { clearTimeout(timer); resolve(); });
      });
    }
    return Date.now() - started;
  }

  /** The statuses of the answers received so far, in order. */
  statuses(): number[] {
    return [...this.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  }
}

/**
 * The browser test's servers (eventsource-suite.ts): the static page on its own origin, and a TCP
 * proxy between the page and Corral that the test can cut.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A TCP proxy in front of Corral that can drop every connection, and hold new ones for a while. */
export class CuttableProxy {
  private readonly server: TcpServer;
  private readonly sockets = new Set<Socket>();
  private held: Socket[] = [];
  private holding = false;
  /** Everything clients sent, per connection: the HTTP request heads (and small bodies). */
  readonly sent: string[] = [];
  accepted = 0;

  constructor(private readonly targetPort: number) {
    this.server = createTcpServer((client) => this.accept(client));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get heldCount(): number {
    return this.held.filter((s) => !s.destroyed).length;
  }

  private accept(client: Socket): void {
    this.accepted += 1;
    this.sockets.add(client);
    client.on('error', () => client.destroy());
    client.on('close', () => this.sockets.delete(client));
    if (this.holding) this.held.push(client); // not read from: the request waits in the socket
    else this.pipe(client);
  }

  private pipe(client: Socket): void {
    if (client.destroyed) return;
    const index = this.sent.push('') - 1;
    client.on('data', (chunk: Buffer) => {
      if (this.sent[index]!.length < 64 * 1024) this.sent[index] += chunk.toString('latin1');
    });
    const upstream = connect(this.targetPort, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Drops every open connection; new ones wait until resume(). */
  cut(): void {
    this.holding = true;
    for (const socket of this.sockets) socket.destroy();
  }

  resume(): void {
    this.holding = false;
    const held = this.held;
    this.held = [];
    for (const client of held) this.pipe(client);
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Serves `html` at `/` (a function: read at each request, for a page made once the server's origin is known). */
export async function listenStatic(html: string | (() => string)): Promise<{ server: HttpServer; origin: string }> {
  const server = createHttpServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '/').split('?')[0] === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(typeof html === 'string' ? html : html());
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function closeHttp(server: HttpServer | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

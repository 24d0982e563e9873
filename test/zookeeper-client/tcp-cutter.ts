// A loopback TCP proxy whose connections a test can cut: how a test makes a client lose its
// connection to ZooKeeper without stopping the server. Bounded: closes every socket on close().
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpCutter {
  readonly port: number;
  /** Ends every proxied connection now (clients see the socket close). */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpCutter(targetPort: number): Promise<TcpCutter> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const cut = (): void => {
    for (const s of sockets) s.destroy();
  };
  return { port, cut, close: () => new Promise((resolve) => { cut(); server.close(() => resolve()); }) };
}

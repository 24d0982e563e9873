import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from './corral-process.ts';
import { FaultProxy } from './fault-proxy.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];
const proxies: FaultProxy[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

interface Echo {
  readonly port: number;
  /** Sockets the target accepted, and every byte it received. */
  readonly accepted: Socket[];
  received: string;
}

/** A target that echoes what it reads. */
async function echoServer(): Promise<Echo> {
  const echo: Echo = { port: 0, accepted: [], received: '' };
  const server = createServer((socket) => {
    echo.accepted.push(socket);
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      echo.received += chunk.toString('utf8');
      socket.write(chunk);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(echo, { port: (server.address() as { port: number }).port });
}

async function proxyTo(port: number): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port } });
  proxies.push(proxy);
  return proxy;
}

interface Client {
  readonly socket: Socket;
  received: string;
  closed: boolean;
}

function client(port: number): Client {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  const state: Client = { socket, received: '', closed: false };
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => (state.received += chunk.toString('utf8')));
  socket.on('close', () => (state.closed = true));
  return state;
}

async function connected(c: Client): Promise<void> {
  await waitFor(() => !c.socket.connecting, { timeoutMs: 2000, what: 'the client to connect' });
}

describe('FaultProxy', () => {
  it('forwards bytes both ways in pass mode', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = client(proxy.port);
    c.socket.write('hello');
    await waitFor(() => c.received === 'hello', { timeoutMs: 2000, what: 'the echo' });
    expect(echo.received).toBe('hello');
    expect(proxy.connections).toBe(1);
  });

  it('resets current connections and refuses new ones in drop mode', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const before = client(proxy.port);
    before.socket.write('x');
    await waitFor(() => before.received === 'x', { timeoutMs: 2000 });
    proxy.setMode('drop');
    await waitFor(() => before.closed, { timeoutMs: 2000, what: 'the open connection to be reset' });
    const during = client(proxy.port);
    await waitFor(() => during.closed, { timeoutMs: 2000, what: 'the new connection to be refused' });
    expect(proxy.connections).toBe(0);

    proxy.setMode('pass');
    const after = client(proxy.port);
    after.socket.write('back');
    await waitFor(() => after.received === 'back', { timeoutMs: 2000 });
  });

  it('discards every byte both ways in blackhole mode, keeping the connection open', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = client(proxy.port);
    c.socket.write('a');
    await waitFor(() => c.received === 'a', { timeoutMs: 2000 });
    proxy.setMode('blackhole');
    c.socket.write('lost');
    echo.accepted[0]!.write('also lost');
    await waitFor(() => proxy.discardedBytes === 'lost'.length + 'also lost'.length, { timeoutMs: 2000, what: 'bytes to be swallowed' });
    proxy.setMode('pass');
    c.socket.write('b');
    await waitFor(() => c.received === 'ab', { timeoutMs: 2000, what: 'the echo after the blackhole' });
    expect(echo.received).toBe('ab');
    expect(c.closed).toBe(false);
  });

  it('hides a close on one side from the other while blackholed, and tells it once the link passes', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = client(proxy.port);
    await waitFor(() => echo.accepted.length === 1, { timeoutMs: 2000 });
    proxy.setMode('blackhole');
    echo.accepted[0]!.destroy();
    await waitFor(() => proxy.heldOpen === 1, { timeoutMs: 2000, what: 'the proxy to see the close' });
    c.socket.write('anyone there?');
    await waitFor(() => proxy.discardedBytes === 'anyone there?'.length, { timeoutMs: 2000 });
    expect(c.closed).toBe(false);
    expect(proxy.connections).toBe(1);
    proxy.setMode('pass');
    await waitFor(() => c.closed, { timeoutMs: 2000, what: 'the client to hear of the close' });
  });

  it('delays every chunk by delayMs in both directions, in order', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = client(proxy.port);
    await connected(c);
    proxy.setMode({ delayMs: 150 });
    const startedMs = Date.now();
    for (const part of ['1', '2', '3', '4']) c.socket.write(part);
    await waitFor(() => c.received === '1234', { timeoutMs: 3000, what: 'the delayed echo' });
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(290); // 150 ms there, 150 ms back
  });

  it('keeps order when the delay shrinks while chunks wait', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = client(proxy.port);
    await connected(c);
    proxy.setMode({ delayMs: 200 });
    c.socket.write('slow');
    await waitFor(() => proxy.queuedBytes === 'slow'.length, { timeoutMs: 2000, what: 'the chunk to wait its delay' });
    proxy.setMode('pass');
    c.socket.write('-fast');
    await waitFor(() => c.received.length === 'slow-fast'.length, { timeoutMs: 3000 });
    expect(c.received).toBe('slow-fast');
  });

  it('closes the client when the target is not listening', async () => {
    const proxy = await proxyTo(await freePort());
    const c = client(proxy.port);
    await waitFor(() => c.closed, { timeoutMs: 2000, what: 'the client to be closed' });
    await waitFor(() => proxy.connections === 0, { timeoutMs: 2000 });
  });

  it('ends every connection on close and stops listening', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.port);
    const c = client(proxy.port);
    await waitFor(() => echo.accepted.length === 1, { timeoutMs: 2000 });
    await Promise.all([proxy.close(), proxy.close()]);
    expect(proxy.connections).toBe(0);
    await waitFor(() => c.closed && echo.accepted[0]!.destroyed, { timeoutMs: 2000, what: 'both ends to close' });
    const late = client(proxy.port);
    await waitFor(() => late.closed, { timeoutMs: 2000, what: 'the port to refuse' });
  });

  it('forwards only to loopback', async () => {
    await expect(FaultProxy.start({ target: { host: '10.0.0.1', port: 80 } })).rejects.toThrow(/loopback/);
  });
});

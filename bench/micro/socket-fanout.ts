/**
 * `npx tsx bench/micro/socket-fanout.ts [--sockets 5000] [--rounds 20]`: the floor under any SSE
 * fan-out on this machine, with no Corral code in it. N idle loopback TCP connections, held by
 * a child process that reads them all (as the watch-10k bench's subscribers are); then, in each
 * round, one write of a 100-byte event to every socket with node:net, timed, with this process's
 * user and system CPU over the loop. Run with `ulimit -n` above N plus a few hundred.
 *
 * What it answers: how long one event takes to reach the last of N streams when one core writes
 * them, before any parsing, routing or framing of Corral's (issue 19, item 6; BENCHMARKS.md).
 */
import { fork } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const EVENT = Buffer.from('id: 4294967299\nevent: watch\ndata: {"type":"dataChanged","path":"/x","zxid":"4294967299"}\n\n');
const CONNECT_TIMEOUT_MS = 60_000;
const ROUND_GAP_MS = 100;

/** The child: opens `count` connections to `port` and reads whatever arrives, until killed. */
function readSockets(port: number, count: number): void {
  for (let i = 0; i < count; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('data', () => {});
    socket.on('error', () => {});
  }
  setInterval(() => {}, 1000);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sockets: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '20' }, reader: { type: 'string' }, port: { type: 'string' } } });
  if (values.reader !== undefined) return readSockets(Number(values.port), Number(values.reader));
  const count = Number(values.sockets);
  const rounds = Number(values.rounds);
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.push(socket);
  });
  server.maxConnections = count + 10;
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  const port = (server.address() as { port: number }).port;
  const child = fork(fileURLToPath(import.meta.url), ['--reader', String(count), '--port', String(port)], { execArgv: process.execArgv });
  try {
    const deadline = Date.now() + CONNECT_TIMEOUT_MS;
    while (sockets.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${sockets.length} of ${count} connections within ${CONNECT_TIMEOUT_MS} ms (ulimit -n?)`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const perSocket: number[] = [];
    let user = 0;
    let system = 0;
    for (let round = 0; round < rounds; round++) {
      const before = process.cpuUsage();
      const started = process.hrtime.bigint();
      for (const socket of sockets) socket.write(EVENT);
      const elapsedUs = Number(process.hrtime.bigint() - started) / 1000;
      const after = process.cpuUsage();
      // The first rounds warm the JIT and the sockets' buffers up.
      if (round >= rounds / 4) {
        perSocket.push(elapsedUs / count);
        user += after.user - before.user;
        system += after.system - before.system;
      }
      await new Promise((resolve) => setTimeout(resolve, ROUND_GAP_MS));
    }
    perSocket.sort((a, b) => a - b);
    const median = perSocket[Math.floor(perSocket.length / 2)]!;
    console.log(`${count} sockets, ${perSocket.length} rounds measured: ${median.toFixed(2)} µs per socket write (median; ${perSocket[0]!.toFixed(2)}–${perSocket.at(-1)!.toFixed(2)}), `
      + `one event to all of them in ${((median * count) / 1000).toFixed(1)} ms; CPU ${((100 * system) / Math.max(1, user + system)).toFixed(0)} % system`);
  } finally {
    child.kill();
    for (const socket of sockets) socket.destroy();
    server.close();
  }
}

await main();

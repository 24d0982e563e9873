/**
 * How much the load generator's HTTP client costs: a trivial node:http server in a child process
 * answers a fixed Corral-sized JSON body, and this process drives it at 64 in flight with the
 * bench's client, with node:http's keep-alive Agent and with global fetch, printing requests/s of
 * each and this process's CPU per request. Run: npx tsx bench/client-overhead.ts [--duration-ms N]
 */
import { fork } from 'node:child_process';
import { Agent, createServer, request } from 'node:http';
import { parseArgs } from 'node:util';
import { HttpClient } from './http-client.ts';
import { runClosedLoop } from './load-generator.ts';

const BODY = JSON.stringify({
  path: '/bench-s/n1', data: 'x'.repeat(100), encoding: 'utf8',
  stat: { czxid: '4294967300', mzxid: '4294967301', pzxid: '4294967300', ctime: 1, mtime: 1, version: 1, cversion: 0, aversion: 0, ephemeralOwner: '0', dataLength: 100, numChildren: 0 },
});

if (process.argv.includes('--serve')) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) }).end(BODY));
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port));
  process.on('disconnect', () => process.exit(0));
} else {
  const { values } = parseArgs({ options: { 'duration-ms': { type: 'string' }, 'in-flight': { type: 'string' } } });
  const durationMs = Number(values['duration-ms'] ?? 3000);
  const inFlight = Number(values['in-flight'] ?? 64);
  const child = fork(new URL(import.meta.url).pathname, ['--serve'], { execArgv: ['--import', 'tsx'] });
  try {
    const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
    const base = `http://127.0.0.1:${port}`;
    const http = new HttpClient(base, inFlight);
    const agent = new Agent({ keepAlive: true, maxSockets: inFlight, maxFreeSockets: inFlight });
    const viaAgent = () => new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/v1/znodes/bench-s/n1', agent }, (res) => {
        res.on('data', () => undefined).on('end', resolve).on('error', reject);
      });
      req.on('error', reject).end();
    });
    const clients: Array<[string, () => Promise<unknown>]> = [
      ['bench client (net)', () => http.expect('GET', '/v1/znodes/bench-s/n1', 200)],
      ['node:http Agent', viaAgent],
      ['global fetch', async () => (await fetch(`${base}/v1/znodes/bench-s/n1`)).arrayBuffer()],
    ];
    for (const [name, op] of clients) {
      const cpu = process.cpuUsage();
      const result = await runClosedLoop(op, { inFlight, warmupMs: 500, durationMs, maxOps: 10_000_000 });
      const used = process.cpuUsage(cpu);
      const cpuUsPerOp = (used.user + used.system) / Math.max(1, result.ops);
      console.log(`${name.padEnd(22)} ${Math.round(result.opsPerSec)} req/s, p50 ${result.latency.p50Ms.toFixed(2)} ms, client CPU ${cpuUsPerOp.toFixed(0)} µs/req`);
    }
    http.close();
    agent.destroy();
  } finally {
    child.kill();
  }
}

/**
 * What a gateway adds over a direct ZooKeeper client (issue 20): setData and getData of 100-byte
 * data with N requests in flight (the harness's closed-loop generator, bench/load-generator.ts),
 * against one standalone ZooKeeper 3.8 on loopback —
 *   direct:      the TypeScript client (src/zookeeper-client/), `connections` sessions, round-robin;
 *   1 gateway:   HTTP/1.1 keep-alive to one gateway process (`--backend zookeeper://…`);
 *   2 gateways:  the same spread round-robin over two gateway processes.
 * and watch delivery: the time from a setData's answer to its event on a session-less
 * `/v1/watch` stream through a gateway, against a persistent watch on a direct client.
 *
 *   npx tsx bench/gateway.ts [--seconds 10] [--in-flight 64] [--connections 8] [--events 200]
 *
 * Everything it starts is on 127.0.0.1 and stopped at the end.
 */
import { parseArgs } from 'node:util';
import { ZooKeeperClient } from '../src/zookeeper-client/client.ts';
import { OPEN_ACL_UNSAFE } from '../src/zookeeper-client/records.ts';
import { HttpClient, openStream } from './http-client.ts';
import { runClosedLoop, type LoopResult } from './load-generator.ts';
import { freePort, makeTempDir, ManagedProcess, pollUntil, removeTempDir, stopAll } from './servers/managed-process.ts';
import { ZooKeeperEnsemble } from './servers/zookeeper-server.ts';
import { payload } from './targets/target.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '10' }, 'in-flight': { type: 'string', default: '64' }, connections: { type: 'string', default: '8' }, events: { type: 'string', default: '200' } },
});
const SECONDS = Math.min(120, Number(values.seconds));
const IN_FLIGHT = Math.min(1024, Number(values['in-flight']));
const CONNECTIONS = Math.min(64, Number(values.connections));
const EVENTS = Math.min(10_000, Number(values.events));
const NODES = 64;
const KEY = 'bench-gateway-key-0123456789';

type Kv = { set(path: string, seq: number): Promise<unknown>; get(path: string): Promise<unknown>; close(): void };

async function direct(port: number): Promise<Kv> {
  const clients: ZooKeeperClient[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const c = await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port }], sessionTimeoutMs: 30_000 });
    if ('code' in c) throw new Error(c.message);
    clients.push(c);
  }
  const pick = (seq: number) => clients[Math.abs(seq) % clients.length]!;
  const ok = <T>(answer: T | { code: string; message: string }) => {
    if (typeof answer === 'object' && answer !== null && 'code' in answer) throw new Error(answer.message);
    return answer;
  };
  return {
    set: async (path, seq) => ok(await pick(seq).setData(path, payload(seq), -1)),
    get: async (path) => ok(await pick(path.length).getData(path)),
    close: () => clients.forEach((c) => void c.close()),
  };
}

function viaGateways(urls: readonly string[]): Kv {
  const clients = urls.map((url) => new HttpClient(url, Math.ceil(IN_FLIGHT / urls.length)));
  let turn = 0;
  const next = () => clients[turn++ % clients.length]!;
  return {
    set: (path, seq) => next().expect('PUT', `/v1/znodes${path}`, 200, payload(seq), { 'content-type': 'application/octet-stream' }),
    get: (path) => next().expect('GET', `/v1/znodes${path}`, 200),
    close: () => clients.forEach((c) => c.close()),
  };
}

async function startGateway(zkPort: number): Promise<{ url: string; process: ManagedProcess }> {
  const port = await freePort();
  const process_ = new ManagedProcess({
    name: `gateway-${port}`, command: process.execPath,
    args: ['--import', 'tsx', 'src/main.ts', '--backend', `zookeeper://127.0.0.1:${zkPort}`, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'],
    env: { CORRAL_GATEWAY_KEY: KEY },
  });
  const url = `http://127.0.0.1:${port}`;
  const ready = await pollUntil(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, 30_000, 50);
  if (!ready) throw new Error(`gateway on ${url} not ready: ${process_.exitDetail() ?? 'still starting'}`);
  return { url, process: process_ };
}

async function measure(name: string, kv: Kv): Promise<string[]> {
  const paths = Array.from({ length: NODES }, (_, i) => `/bench/n${i}`);
  const rows: string[] = [];
  for (const [workload, op] of [['setData', (seq: number) => kv.set(paths[seq % NODES]!, seq)], ['getData', (seq: number) => kv.get(paths[seq % NODES]!)]] as const) {
    const result: LoopResult = await runClosedLoop(op, { inFlight: IN_FLIGHT, warmupMs: 2000, durationMs: SECONDS * 1000, maxOps: 5_000_000 });
    rows.push(`| ${workload}-${IN_FLIGHT} | ${name} | ${Math.round(result.opsPerSec)} | ${result.latency.p50Ms.toFixed(2)} | ${result.latency.p99Ms.toFixed(2)} | ${result.errors} |`);
    console.log(rows.at(-1));
  }
  return rows;
}

/** Median ms from a setData's answer to its event: through a gateway's /v1/watch, or a direct persistent watch. */
async function watchDelivery(zkPort: number, gatewayUrl: string): Promise<string[]> {
  const writer = await direct(zkPort);
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  let waiting: ((atMs: number) => void) | undefined;
  const stream = openStream(gatewayUrl, 'GET', '/v1/watch/bench/w', undefined, { accept: 'text/event-stream' }, (text) => {
    if (text.includes('event: watch')) waiting?.(performance.now());
  }, () => undefined);
  await stream.opened;
  const watcher = await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: zkPort }], sessionTimeoutMs: 30_000 }, { watch: () => waiting?.(performance.now()) });
  if ('code' in watcher) throw new Error(watcher.message);
  const rows: string[] = [];
  for (const [name, arm] of [['1 gateway (/v1/watch)', async () => undefined], ['direct (persistent watch)', async () => void (await watcher.addWatch('/bench/w', 'persistent'))]] as const) {
    await arm();
    await writer.set('/bench/w', -1); // warm-up: the watch is set and the path is hot
    const samples: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const got = new Promise<number>((resolve) => { waiting = resolve; });
      await writer.set('/bench/w', i);
      const answeredMs = performance.now();
      samples.push(Math.max(0, (await Promise.race([got, new Promise<number>((r) => setTimeout(() => r(Number.NaN), 5000))])) - answeredMs));
    }
    if (name.startsWith('1 gateway')) stream.close();
    rows.push(`| watch delivery | ${name} | median ${median(samples.filter(Number.isFinite)).toFixed(2)} ms after the write's answer (${EVENTS} events) |`);
    console.log(rows.at(-1));
  }
  waiting = undefined;
  await watcher.close();
  writer.close();
  return rows;
}

async function main(): Promise<void> {
  const work = makeTempDir('corral-bench-gateway-');
  const zk = await ZooKeeperEnsemble.create(1, work);
  try {
    await zk.start();
    const zkPort = zk.clientPorts[0]!;
    const setup = await direct(zkPort);
    const admin = (await ZooKeeperClient.connect({ servers: [{ host: '127.0.0.1', port: zkPort }], sessionTimeoutMs: 30_000 })) as ZooKeeperClient;
    await admin.create({ path: '/bench', data: new Uint8Array(), acl: OPEN_ACL_UNSAFE, mode: 'persistent' });
    for (let i = 0; i < NODES; i++) await admin.create({ path: `/bench/n${i}`, data: payload(i), acl: OPEN_ACL_UNSAFE, mode: 'persistent' });
    await admin.create({ path: '/bench/w', data: new Uint8Array(), acl: OPEN_ACL_UNSAFE, mode: 'persistent' });
    setup.close();
    const a = await startGateway(zkPort);
    const b = await startGateway(zkPort);
    console.log('| workload | through | ops/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|');
    const kvs: Array<[string, Kv]> = [['direct', await direct(zkPort)], ['1 gateway', viaGateways([a.url])], ['2 gateways', viaGateways([a.url, b.url])]];
    for (const [name, kv] of kvs) {
      await measure(name, kv);
      kv.close();
    }
    await watchDelivery(zkPort, a.url);
    await admin.close();
  } finally {
    await stopAll();
    await zk.stop();
    await zk.remove();
    removeTempDir(work);
  }
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  process.exit(1);
});

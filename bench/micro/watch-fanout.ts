/**
 * `npx tsx bench/micro/watch-fanout.ts [--subscribers 5000] [--writes 40] [--rounds 3] NAME=ROOT ...`:
 * what one /v1/watch subscriber costs the server, in CPU per delivered event and in memory while
 * idle, for one or more builds of Corral (checkouts, e.g. `git archive HEAD | tar -x -C /tmp/before`
 * with node_modules linked in), run in interleaved rounds so the machine's drift hits every
 * build alike. CPU time, not wall time: other processes load the machine.
 *
 * Each round and build: a fresh node in a child process (this file with `--serve ROOT`, so the
 * server's own process.cpuUsage() is what is counted), N streams of one znode opened over raw
 * sockets by the watch-scale workload's subscriber child, 2 s idle, then RSS and heap per
 * stream (after a GC), then K writes to the znode, each sent once every stream got the one
 * before, and the server's CPU per event per subscriber over those K writes (the writes' own
 * cost is included: ~0.1 ms each, under 1 % at thousands of streams). A second, burst phase
 * sends K writes back to back (the fan-out falls behind and hands several over at once).
 * Add `--cpu-prof-dir DIR` to write each server's CPU profile of the two write phases there
 * (bench/profile-summary.ts reads them).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const SUBSCRIBERS_CHILD = fileURLToPath(new URL('../workloads/watch-scale-subscribers.ts', import.meta.url));
const PATH = '/fanout';
const DELIVERY_TIMEOUT_MS = 60_000;
const IDLE_MS = 2000;

type Usage = { readonly cpuUs: number; readonly rss: number; readonly heap: number };

/** The server side: a node from ROOT, answering `usage` with its own CPU and memory. */
async function serve(root: string, maxStreams: number, profileDir: string | undefined): Promise<void> {
  const { startServer } = (await import(pathToFileURL(join(root, 'src/server.ts')).href)) as typeof import('../../src/server.ts');
  const dataDir = mkdtempSync(join(tmpdir(), 'corral-fanout-'));
  const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', maxStreams, maxStreamsPerCaller: 0, maxConnectionsPerAddress: 0 } as never);
  const profiler = new Session();
  profiler.connect();
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'profile-start' && profileDir) {
      void profiler.post('Profiler.enable').then(() => profiler.post('Profiler.start')).then(() => process.send!({ profiling: true }));
      return;
    }
    if (m.cmd === 'profile-stop' && profileDir) {
      void profiler.post('Profiler.stop').then(({ profile }) => {
        mkdirSync(profileDir, { recursive: true });
        writeFileSync(join(profileDir, `fanout-${process.pid}.cpuprofile`), JSON.stringify(profile));
        process.send!({ profiled: true });
      });
      return;
    }
    if (m.cmd !== 'usage') return;
    (globalThis as { gc?: () => void }).gc?.();
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    process.send!({ cpuUs: cpu.user + cpu.system, rss: mem.rss, heap: mem.heapUsed } satisfies Usage);
  });
  process.on('disconnect', () => {
    void server.close().finally(() => {
      rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
  process.send!({ url: server.url });
}

/** One request/answer over a child's IPC channel (the subscriber child echoes `id`). */
function ask<T>(child: ChildProcess, message: object, match: (m: T) => boolean = () => true): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(message)}`)), DELIVERY_TIMEOUT_MS);
    const onMessage = (m: T) => {
      if (!match(m)) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolvePromise(m);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

let nextId = 1;
async function subscriberCall(child: ChildProcess, request: object): Promise<{ ok: boolean; opened?: number; delivered?: number; error?: string }> {
  const id = nextId++;
  const reply = await ask<{ id: number; ok: boolean; opened?: number; delivered?: number; error?: string }>(child, { ...request, id }, (m) => m.id === id);
  if (!reply.ok) throw new Error(reply.error);
  return reply;
}

/** Waits until `target` events arrived in all, polling the subscriber child (bounded). */
async function delivered(child: ChildProcess, target: number): Promise<void> {
  const deadline = performance.now() + DELIVERY_TIMEOUT_MS;
  while ((await subscriberCall(child, { cmd: 'count' })).delivered! < target) {
    if (performance.now() > deadline) throw new Error(`fewer than ${target} events within ${DELIVERY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function write(url: string, i: number): Promise<void> {
  const response = await fetch(`${url}/v1/znodes${PATH}`, { method: 'PUT', body: `v${i}` });
  if (response.status !== 200) throw new Error(`PUT answered ${response.status}`);
  await response.arrayBuffer();
}

interface RoundResult { readonly idleRssKb: number; readonly idleHeapKb: number; readonly pacedUs: number; readonly burstUs: number }

async function round(root: string, subscribers: number, writes: number, profileDir: string | undefined): Promise<RoundResult> {
  const execArgv = ['--import', 'tsx', '--expose-gc'];
  const server = fork(fileURLToPath(import.meta.url), ['--serve', root, '--subscribers', String(subscribers), ...(profileDir ? ['--cpu-prof-dir', profileDir] : [])], { execArgv, cwd: root });
  const clients = fork(SUBSCRIBERS_CHILD, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced' });
  try {
    const { url } = await ask<{ url: string }>(server, { cmd: 'ready' }, (m) => 'url' in m);
    const put = await fetch(`${url}/v1/znodes${PATH}`, { method: 'POST', body: '' });
    if (put.status !== 201) throw new Error(`create answered ${put.status}`);
    for (let i = 0; i < 20; i++) await write(url, i); // warm the write path
    const usage = () => ask<Usage>(server, { cmd: 'usage' }, (m) => 'cpuUs' in m);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const empty = await usage();
    const opened = (await subscriberCall(clients, { cmd: 'open', endpoints: { kind: 'corral', ports: [Number(new URL(url).port)] }, path: PATH, count: subscribers })).opened!;
    if (opened !== subscribers) throw new Error(`opened ${opened} of ${subscribers}`);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idle = await usage();
    let expected = 0;
    if (profileDir) await ask(server, { cmd: 'profile-start' }, (m: object) => 'profiling' in m);
    const paced = await usage();
    for (let i = 0; i < writes; i++) {
      await write(url, i);
      await delivered(clients, (expected += subscribers));
    }
    const afterPaced = await usage();
    await Promise.all(Array.from({ length: writes }, (_, i) => write(url, i)));
    await delivered(clients, (expected += writes * subscribers));
    const afterBurst = await usage();
    if (profileDir) await ask(server, { cmd: 'profile-stop' }, (m: object) => 'profiled' in m);
    return {
      idleRssKb: (idle.rss - empty.rss) / 1024 / subscribers,
      idleHeapKb: (idle.heap - empty.heap) / 1024 / subscribers,
      pacedUs: (afterPaced.cpuUs - paced.cpuUs) / (writes * subscribers),
      burstUs: (afterBurst.cpuUs - afterPaced.cpuUs) / (writes * subscribers),
    };
  } finally {
    await subscriberCall(clients, { cmd: 'close' }).catch(() => undefined);
    clients.kill();
    const exited = new Promise((r) => server.once('exit', r));
    server.disconnect();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    server.kill();
  }
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? NaN;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      subscribers: { type: 'string', default: '5000' }, writes: { type: 'string', default: '40' }, rounds: { type: 'string', default: '3' },
      serve: { type: 'string' }, 'cpu-prof-dir': { type: 'string' },
    },
  });
  const subscribers = Number(values.subscribers);
  if (values.serve) return serve(values.serve, subscribers + 100, values['cpu-prof-dir']);
  const writes = Number(values.writes);
  const rounds = Number(values.rounds);
  const builds = positionals.map((spec) => {
    const at = spec.indexOf('=');
    return { name: spec.slice(0, at), root: resolve(spec.slice(at + 1)), results: [] as RoundResult[] };
  });
  if (builds.length === 0 || builds.some((b) => !b.name) || !(subscribers > 0) || !(writes > 0) || !(rounds > 0)) {
    console.error('Usage: npx tsx bench/micro/watch-fanout.ts [--subscribers 5000] [--writes 40] [--rounds 3] [--cpu-prof-dir DIR] NAME=ROOT ...');
    process.exitCode = 2;
    return;
  }
  for (let r = 0; r < rounds; r++) {
    for (const build of r % 2 === 0 ? builds : [...builds].reverse()) {
      const result = await round(build.root, subscribers, writes, values['cpu-prof-dir'] ? join(resolve(values['cpu-prof-dir']), build.name) : undefined);
      build.results.push(result);
      console.log(`round ${r + 1} ${build.name}: ${JSON.stringify(Object.fromEntries(Object.entries(result).map(([k, v]) => [k, Number(v.toFixed(3))])))}`);
    }
  }
  console.log(`\n${subscribers} subscribers, ${writes} writes, median of ${rounds} rounds:`);
  console.log('build'.padEnd(12), 'CPU µs/event/subscriber paced'.padStart(30), 'burst'.padStart(8), 'idle RSS KB/sub'.padStart(16), 'heap KB/sub'.padStart(12));
  for (const b of builds) {
    const m = (key: keyof RoundResult) => median(b.results.map((x) => x[key])).toFixed(2);
    console.log(b.name.padEnd(12), m('pacedUs').padStart(30), m('burstUs').padStart(8), m('idleRssKb').padStart(16), m('idleHeapKb').padStart(12));
  }
}

await main();

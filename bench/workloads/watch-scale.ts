/**
 * watch-10k: N subscribers of one znode (10,000 by default, each its own connection, held by a
 * child process: watch-scale-subscribers.ts), one writer setting its data at a steady rate, and
 * beside them one reader doing getData in a closed loop on another znode. Per event: latency from
 * the write's send to its arrival at the subscriber (one clock: both processes use
 * performance.timeOrigin + now()); events missed (expected: subscribers × writes measured); the
 * writer's answer latency; the concurrent getData's latency; and the server's RSS per idle
 * subscriber (the first member's RSS after opening them, idle, minus before, over the
 * subscribers it holds).
 *
 * The subscriber process needs N file descriptors (and the server as many): `ulimit -n` must be
 * above N plus a few hundred in the shell that runs the bench (20,000 here).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LatencyRecorder } from '../latency.ts';
import { payload, tokenZxid, type Deployment } from '../targets/target.ts';
import type { Endpoints, Reply, Request } from './watch-scale-subscribers.ts';
import type { Measured, RunContext, Workload } from './workload.ts';

/** Writes per second of the one writer. */
const WRITE_RATE = Number(process.env.BENCH_WATCH_SCALE_RATE ?? 5);
const DRAIN_TIMEOUT_MS = 15_000;
const IDLE_SETTLE_MS = 2000;
const CHILD_TIMEOUT_MS = 180_000;
let runs = 0;

const now = (): number => performance.timeOrigin + performance.now();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where the subscribers connect: asked of the deployment (Corral's HTTP ports, ZooKeeper's client ports). */
export interface ScaleEndpoints {
  scaleEndpoints?(): Endpoints;
}

type Asked = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

/** The child holding the subscribers, asked one thing at a time. */
class Subscribers {
  private readonly child: ChildProcess;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  constructor() {
    this.child = fork(fileURLToPath(new URL('./watch-scale-subscribers.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      waiter?.resolve(reply);
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`the subscriber process exited (${code})`));
      this.waiting.clear();
    });
  }

  async ask(request: Asked): Promise<Reply & { ok: true }> {
    const id = ++this.next;
    const reply = await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the subscriber process did not answer ${request.cmd} in ${CHILD_TIMEOUT_MS} ms`)), CHILD_TIMEOUT_MS);
      this.waiting.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.send({ ...request, id } as Request);
    });
    if (!reply.ok) throw new Error(`subscribers: ${reply.error}`);
    return reply;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await this.ask({ cmd: 'close' }).catch(() => undefined);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** The getData loop beside the writes: one in flight, until `stop`. */
async function readLoop(deployment: Deployment, path: string, recorder: LatencyRecorder, running: () => boolean): Promise<number> {
  const reader = await deployment.client(1);
  let errors = 0;
  try {
    for (let i = 0; i < 10_000_000 && running(); i++) {
      const sent = performance.now();
      try {
        await reader.getData(path);
        recorder.record(performance.now() - sent);
      } catch {
        errors++;
      }
    }
  } finally {
    await reader.close();
  }
  return errors;
}

/** Arrivals by the write they belong to: the last write at or before each event's zxid (tokenZxid). */
export function byWrite(arrivals: Record<string, Float64Array>, writeTokens: readonly string[]): Record<string, Float64Array> {
  const writes = writeTokens.map((t) => BigInt(t)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const times = new Map<string, number[]>();
  for (const [token, at] of Object.entries(arrivals)) {
    const zxid = tokenZxid(token);
    const write = zxid === undefined ? undefined : writes.filter((w) => w <= zxid).at(-1);
    if (write === undefined) continue;
    const list = times.get(String(write)) ?? [];
    for (const time of at) list.push(time);
    times.set(String(write), list);
  }
  return Object.fromEntries([...times].map(([key, list]) => [key, Float64Array.from(list)]));
}

async function runScale(context: RunContext, count: number): Promise<Measured> {
  const { deployment, settings } = context;
  if (!deployment) throw new Error('the watch-scale workload needs a running deployment');
  const endpoints = (deployment as Deployment & ScaleEndpoints).scaleEndpoints?.();
  if (!endpoints) throw new Error(`${deployment.target} has no endpoints for watch-scale`);
  const path = `/bench-scale${++runs}`;
  const readPath = `${path}-read`;
  const writer = await deployment.client(1);
  const subscribers = new Subscribers();
  try {
    await writer.createMany([path, readPath], payload(0));
    const rssBefore = deployment.rssBytes()[0] ?? 0;
    const openedAt = performance.now();
    const { opened = 0 } = await subscribers.ask({ cmd: 'open', endpoints, path, count });
    settings.log(`  ${opened} subscribers open in ${Math.round(performance.now() - openedAt)} ms`);
    await pause(IDLE_SETTLE_MS);
    const rssIdle = deployment.rssBytes()[0] ?? 0;

    const writerMs = new LatencyRecorder(settings.maxOps);
    const readMs = new LatencyRecorder(settings.maxOps);
    const sentAt = new Map<string, number>();
    const measured = new Set<string>();
    const start = performance.now();
    const measureFrom = start + settings.warmupMs;
    const until = measureFrom + settings.durationMs;
    let readErrors = 0;
    let reading = true;
    const reads = readLoop(deployment, readPath, readMs, () => reading).then((e) => (readErrors = e));
    const cpuFrom = deployment.cpuSeconds();
    const loopFrom = deployment.mainThreadCpuSeconds?.() ?? NaN;
    const intervalMs = 1000 / WRITE_RATE;
    let r = 0;
    for (; r < 100_000 && performance.now() < until; r++) {
      const due = start + r * intervalMs;
      if (due > performance.now()) await pause(due - performance.now());
      const inWindow = performance.now() >= measureFrom;
      const sent = now();
      const zxid = await writer.setData(path, payload(r + 1), true);
      if (inWindow) writerMs.record(now() - sent);
      // ZooKeeper's events carry no zxid: a watcher's k-th event is the write that made version k (write r: r + 1).
      const token = endpoints.kind === 'corral' ? zxid : String(r + 1);
      sentAt.set(token, sent);
      if (inWindow) measured.add(token);
    }
    reading = false;
    await reads;
    // Every event of every write, or the drain timeout.
    const expected = count * r;
    const drainFrom = performance.now();
    let delivered = 0;
    while (performance.now() - drainFrom < DRAIN_TIMEOUT_MS) {
      delivered = (await subscribers.ask({ cmd: 'count' })).delivered ?? 0;
      if (delivered >= expected) break;
      await pause(100);
    }
    const serverCpuSeconds = deployment.cpuSeconds() - cpuFrom;
    const loopCpuSeconds = (deployment.mainThreadCpuSeconds?.() ?? NaN) - loopFrom;
    const { arrivals: collected = {} } = await subscribers.ask({ cmd: 'collect' });
    const arrivals = endpoints.kind === 'corral' ? byWrite(collected, [...sentAt.keys()]) : collected;
    const fromSend = new LatencyRecorder(count * (measured.size + 1));
    let missed = 0;
    for (const token of measured) {
      const times = arrivals[token] ?? new Float64Array(0);
      missed += Math.max(0, count - times.length);
      const sent = sentAt.get(token)!;
      for (const at of times) fromSend.record(at - sent);
    }
    const send = fromSend.summary();
    const write = writerMs.summary();
    const read = readMs.summary();
    const elapsedMs = Math.max(1, until - measureFrom);
    const f = (v: number) => v.toFixed(1);
    // The first member's RSS, over the subscribers it holds (they are spread over the members round-robin).
    const onFirst = Math.ceil(opened / endpoints.ports.length);
    const perSubscriberKb = onFirst > 0 ? (rssIdle - rssBefore) / 1024 / onFirst : NaN;
    settings.log(`  ${deployment.target} ${opened} subscribers, ${measured.size} writes at ${WRITE_RATE}/s: events from send p50 ${f(send.p50Ms)} ` +
      `p99 ${f(send.p99Ms)} max ${f(send.maxMs)} ms, missed ${missed}; writer p50 ${f(write.p50Ms)} p99 ${f(write.p99Ms)} ms; ` +
      `getData p50 ${f(read.p50Ms)} p99 ${f(read.p99Ms)} ms (${read.count}); RSS ${f(rssBefore / 2 ** 20)} → ${f(rssIdle / 2 ** 20)} MB, ` +
      `${f(perSubscriberKb)} KB per idle subscriber; server CPU ${f((serverCpuSeconds * 1e6) / Math.max(1, delivered))} µs ` +
      `(event loop ${f((loopCpuSeconds * 1e6) / Math.max(1, delivered))}) per event`);
    return {
      concurrency: count, ops: send.count, opsPerSec: (send.count * 1000) / elapsedMs, p50Ms: send.p50Ms, p99Ms: send.p99Ms, errors: missed,
      extra: {
        subscribers: opened, writes: measured.size, writeRate: WRITE_RATE, maxMs: send.maxMs,
        writerP50Ms: write.p50Ms, writerP99Ms: write.p99Ms, getDataP50Ms: read.p50Ms, getDataP99Ms: read.p99Ms, getDataOps: read.count, getDataErrors: readErrors,
        serverCpuUsPerEvent: (serverCpuSeconds * 1e6) / Math.max(1, delivered), loopCpuUsPerEvent: (loopCpuSeconds * 1e6) / Math.max(1, delivered),
        rssBeforeMb: rssBefore / 2 ** 20, rssIdleMb: rssIdle / 2 ** 20, rssPerSubscriberKb: perSubscriberKb,
      },
    };
  } finally {
    await subscribers.close();
    await writer.close();
  }
}

function scaleWorkload(subscribers: number, quickSubscribers: number): Workload {
  const count = Number(process.env.BENCH_WATCH_SCALE_SUBSCRIBERS ?? subscribers);
  return {
    name: `watch-${subscribers / 1000}k`, kind: 'watch', concurrency: count, ownsDeployment: false,
    run: (context) => runScale(context, context.settings.quick ? quickSubscribers : count),
  };
}

export const WATCH_SCALE_WORKLOADS: readonly Workload[] = [scaleWorkload(10_000, 50)];

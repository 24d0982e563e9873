/**
 * Watch delivery: W watchers (one connection each) watch one node; one writer sets its data, one
 * write at a time. Latency is from the write's acknowledgement (its answer reaching the writer)
 * to each watcher's event reaching its client, both on this process's clock. An event that beats
 * the acknowledgement (they travel on different sockets) counts as 0 ms; the latency from the
 * write's send is recorded too. The next write goes out once every event arrived (and, for
 * one-shot watches, every watch is re-armed), so each event belongs to one write.
 */
import { LatencyRecorder } from '../latency.ts';
import { runBounded } from '../load-generator.ts';
import { CpuWindow } from '../machine-cpu.ts';
import { liveCpuSeconds } from '../servers/managed-process.ts';
import { payload, tokenZxid, type Deployment, type EventListener, type KvClient, type Watcher } from '../targets/target.ts';
import type { Measured, RunContext, Workload } from './workload.ts';

const ROUND_TIMEOUT_MS = 10_000;
const CONNECT_PARALLEL = 32;
let watchRuns = 0;

interface Arrival {
  readonly token: string;
  readonly atMs: number;
}

class Round {
  readonly arrivals: Arrival[] = [];
  private token: string | undefined;
  private matchedCount = 0;
  private done: (() => void) | undefined;
  readonly complete: Promise<void>;

  constructor(private readonly expected: number) {
    this.complete = new Promise((resolve) => (this.done = resolve));
  }

  /**
   * One write at a time, and a round ends only once its events are all in: an event at or after
   * this write's token is this write's (a gateway may date it later: tokenZxid).
   */
  private matches(arrival: Arrival): boolean {
    if (arrival.token === '') return true;
    if (this.token === undefined) return false;
    const [event, write] = [tokenZxid(arrival.token), tokenZxid(this.token)];
    return event !== undefined && write !== undefined ? event >= write : arrival.token === this.token;
  }

  /** Events of this round: at or after the write's token, or any when the system's events carry none. */
  matched(): Arrival[] {
    return this.arrivals.filter((a) => this.matches(a));
  }

  /** O(1) per event: 1,000 watchers must not cost the client O(n) work per event. */
  add(arrival: Arrival): void {
    this.arrivals.push(arrival);
    if (this.token !== undefined && this.matches(arrival) && ++this.matchedCount >= this.expected) this.done?.();
  }

  acknowledged(token: string): void {
    this.token = token;
    this.matchedCount = this.matched().length;
    if (this.matchedCount >= this.expected) this.done?.();
  }
}

interface WatchLoop {
  readonly writer: KvClient;
  readonly watchers: readonly Watcher[];
  readonly path: string;
  readonly count: number;
  /** Where arriving events go: the round in progress. */
  setRound(round: Round | undefined): void;
}

/** Opens `count` watchers of `path`, each on its own connection, armed. */
async function openWatchers(deployment: Deployment, path: string, count: number, onEvent: EventListener): Promise<Watcher[]> {
  const watchers: Watcher[] = [];
  const ids = Array.from({ length: count }, (_, i) => i);
  try {
    await runBounded(ids, CONNECT_PARALLEL, async (i) => {
      const watcher = await deployment.watcher(path, i, onEvent);
      watchers.push(watcher);
      await watcher.arm();
    });
  } catch (error) {
    for (const w of watchers) w.close();
    throw error;
  }
  return watchers;
}

/** One write, then every watcher's event (bounded wait); the events that belong to it. */
async function oneRound(loop: WatchLoop, r: number): Promise<{ sentAt: number; ackAt: number; events: Arrival[] }> {
  const current = new Round(loop.count);
  loop.setRound(current);
  const sentAt = performance.now();
  const token = await loop.writer.setData(loop.path, payload(r), true);
  const ackAt = performance.now();
  current.acknowledged(token);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([current.complete, new Promise<void>((resolve) => (timer = setTimeout(resolve, ROUND_TIMEOUT_MS)))]);
  clearTimeout(timer);
  loop.setRound(undefined);
  return { sentAt, ackAt, events: current.matched() };
}

async function measure(context: RunContext, deployment: Deployment, loop: WatchLoop): Promise<Measured> {
  const { settings } = context;
  const fromAck = new LatencyRecorder(settings.maxOps);
  const fromSend = new LatencyRecorder(settings.maxOps);
  const measureFrom = performance.now() + settings.warmupMs;
  const measureUntil = measureFrom + settings.durationMs;
  const cpuWindow = new CpuWindow(() => deployment.cpuSeconds(), liveCpuSeconds);
  let windowOpen = false;
  let writes = 0;
  let missed = 0;
  for (let r = 0; r < 1_000_000 && performance.now() < measureUntil && fromAck.count < settings.maxOps; r++) {
    if (deployment.oneShotWatches && r > 0) await Promise.all(loop.watchers.map((w) => w.arm()));
    if (!windowOpen && performance.now() >= measureFrom) {
      cpuWindow.open();
      windowOpen = true;
    }
    const { sentAt, ackAt, events } = await oneRound(loop, r);
    missed += Math.max(0, loop.count - events.length);
    if (sentAt >= measureFrom) {
      writes++;
      for (const e of events) {
        fromAck.record(Math.max(0, e.atMs - ackAt));
        fromSend.record(e.atMs - sentAt);
      }
    }
    if (events.length < loop.count) {
      settings.log(`  round ${r}: ${events.length}/${loop.count} events within ${ROUND_TIMEOUT_MS} ms; stopping`);
      break;
    }
  }
  const cpu = windowOpen ? cpuWindow.close() : undefined;
  const elapsedMs = Math.max(1, Math.min(performance.now(), measureUntil) - measureFrom);
  const ack = fromAck.summary();
  const send = fromSend.summary();
  return {
    concurrency: loop.count, ops: ack.count, opsPerSec: (ack.count * 1000) / elapsedMs, p50Ms: ack.p50Ms, p99Ms: ack.p99Ms, errors: missed,
    extra: {
      writes, writesPerSec: (writes * 1000) / elapsedMs, maxMs: ack.maxMs, fromSendP50Ms: send.p50Ms, fromSendP99Ms: send.p99Ms,
      serverCpuUsPerEvent: cpu && ack.count > 0 ? (cpu.serverSeconds * 1e6) / ack.count : NaN, otherCpuPct: cpu?.othersPct ?? NaN,
    },
  };
}

async function runWatch(context: RunContext, count: number): Promise<Measured> {
  const { deployment } = context;
  if (!deployment) throw new Error('the watch workload needs a running deployment');
  const path = `/bench-w${++watchRuns}`;
  let round: Round | undefined;
  const writer = await deployment.client(1);
  let watchers: Watcher[] = [];
  try {
    await writer.createMany([path], payload(0));
    watchers = await openWatchers(deployment, path, count, (token, atMs) => round?.add({ token, atMs }));
    return await measure(context, deployment, { writer, watchers, path, count, setRound: (r) => (round = r) });
  } finally {
    round = undefined;
    for (const w of watchers) w.close();
    await writer.close();
  }
}

function watchWorkload(watchers: number, quickWatchers: number): Workload {
  return {
    name: `watch-${watchers}`, kind: 'watch', concurrency: watchers, ownsDeployment: false,
    run: (context) => runWatch(context, context.settings.quick ? quickWatchers : watchers),
  };
}

export const WATCH_WORKLOADS: readonly Workload[] = [watchWorkload(50, 5), watchWorkload(1000, 20)];

/**
 * Closed-loop request workloads: setData on existing 100-byte nodes, getData of them, and create
 * of new 100-byte nodes, each with N requests in flight for a fixed time after a warm-up.
 */
import { runBounded, runClosedLoop } from '../load-generator.ts';
import { CpuWindow, type CpuUse } from '../machine-cpu.ts';
import { liveCpuSeconds } from '../servers/managed-process.ts';
import { payload, type Deployment } from '../targets/target.ts';
import type { Measured, RunContext, Workload } from './workload.ts';

/** Nodes the setData and getData workloads spread over (no two requests in flight on one node at 64). */
const FIXTURE_NODES = 1000;
const FIXTURE_PARENT = '/bench-s';
const fixturePath = (i: number) => `${FIXTURE_PARENT}/n${i % FIXTURE_NODES}`;
const fixtures = new WeakMap<Deployment, Promise<void>>();
let createRuns = 0;

/** Creates the fixture nodes once per deployment. */
function ensureFixture(deployment: Deployment, batchMax: number): Promise<void> {
  let made = fixtures.get(deployment);
  if (!made) {
    made = (async () => {
      const client = await deployment.client(4);
      try {
        await client.createMany([FIXTURE_PARENT], payload(0));
        const paths = Array.from({ length: FIXTURE_NODES }, (_, i) => fixturePath(i));
        const batches: string[][] = [];
        for (let i = 0; i < paths.length; i += batchMax) batches.push(paths.slice(i, i + batchMax));
        await runBounded(batches, 4, (batch) => client.createMany(batch, payload(0)));
      } finally {
        await client.close();
      }
    })();
    fixtures.set(deployment, made);
  }
  return made;
}

/** Corral's log appends during the run (warm-up included): mean fsync time and entries per fsync. */
function appendStats(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const delta = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
  const appends = delta('corral_log_fsync_duration_seconds_count');
  if (appends <= 0) return {};
  return {
    appendMsMean: (delta('corral_log_fsync_duration_seconds_sum') * 1000) / appends,
    entriesPerAppend: delta('corral_log_batch_entries_sum') / Math.max(1, delta('corral_log_batch_entries_count')),
  };
}

type OpKind = 'setData' | 'getData' | 'create';

async function runRequests(context: RunContext, kind: OpKind, inFlight: number): Promise<Measured> {
  const { deployment, settings, target } = context;
  if (!deployment) throw new Error('a request workload needs a running deployment');
  await ensureFixture(deployment, target.bulkBatchMax);
  const client = await deployment.client(inFlight);
  try {
    let op: (seq: number) => Promise<unknown>;
    if (kind === 'setData') {
      const data = [payload(1), payload(2)];
      op = (seq) => client.setData(fixturePath(seq), data[seq & 1]!);
    } else if (kind === 'getData') {
      op = (seq) => client.getData(fixturePath(seq));
    } else {
      const parent = `/bench-c${++createRuns}`;
      await client.createMany([parent], payload(0));
      const data = payload(3);
      op = (seq) => client.create(`${parent}/n${seq}`, data);
    }
    // CPU of the server(s) and of this process (the load generator) over the measured window.
    const window = new CpuWindow(() => deployment.cpuSeconds(), liveCpuSeconds);
    let cpu: CpuUse | undefined;
    const onWindow = (edge: 'open' | 'close') => (edge === 'open' ? window.open() : (cpu = window.close()));
    const before = await deployment.counters?.();
    const result = await runClosedLoop(op, {
      inFlight, warmupMs: settings.warmupMs, durationMs: settings.durationMs, maxOps: settings.maxOps, onWindow,
    });
    const appends = before ? appendStats(before, await deployment.counters!()) : {};
    const perOpUs = (seconds: number | undefined) => (result.ops > 0 && seconds !== undefined ? (seconds * 1e6) / result.ops : NaN);
    if (result.errors > 0) settings.log(`  ${result.errors} errors, first: ${result.firstError}`);
    const died = deployment.exitDetail();
    if (died) throw new Error(died);
    return {
      ops: result.ops, opsPerSec: result.opsPerSec, p50Ms: result.latency.p50Ms, p99Ms: result.latency.p99Ms,
      errors: result.errors,
      extra: {
        meanMs: result.latency.meanMs, maxMs: result.latency.maxMs, elapsedMs: result.elapsedMs,
        serverCpuUsPerOp: perOpUs(cpu?.serverSeconds), clientCpuUsPerOp: perOpUs(cpu?.clientSeconds),
        otherCpuPct: cpu?.othersPct ?? NaN, ...appends,
        ...(result.firstError ? { firstError: result.firstError } : {}),
      },
    };
  } finally {
    await client.close();
  }
}

/**
 * Runs setData and getData at 64 in flight, unmeasured, for `ms` each: a fresh JVM (ZooKeeper)
 * or V8 (Corral) has not compiled its hot paths yet, and the first workload should not pay it.
 */
export async function warmUp(deployment: Deployment, batchMax: number, ms: number): Promise<void> {
  await ensureFixture(deployment, batchMax);
  const client = await deployment.client(64);
  try {
    const data = payload(4);
    for (const op of [(seq: number) => client.setData(fixturePath(seq), data), (seq: number) => client.getData(fixturePath(seq))]) {
      await runClosedLoop(op, { inFlight: 64, warmupMs: ms, durationMs: 1, maxOps: 1 });
    }
  } finally {
    await client.close();
  }
}

function requestWorkload(kind: OpKind, inFlight: number): Workload {
  return {
    name: `${kind}-${inFlight}`, kind: 'throughput', concurrency: inFlight, ownsDeployment: false,
    run: (context) => runRequests(context, kind, inFlight),
  };
}

export const THROUGHPUT_WORKLOADS: readonly Workload[] = [
  requestWorkload('setData', 1),
  requestWorkload('setData', 16),
  requestWorkload('setData', 64),
  requestWorkload('getData', 64),
  requestWorkload('create', 64),
];

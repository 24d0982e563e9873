/**
 * Runs the plan: every target started once for the request and watch workloads (in interleaved
 * rounds), then every memory workload on fresh deployments of its own. A target that cannot run
 * here gets a row per workload saying why ("missing: …", "not available yet …"); a target that
 * does not start, or a workload that fails, gets a "failed" row and the run goes on. Every
 * deployment is stopped in a finally.
 */
import { corral3Observers2Target, corral3Target, corralTarget, corralTlsTarget } from './targets/corral.ts';
import { etcdClusterTarget, etcdSingleTarget } from './targets/etcd.ts';
import { gatewayTarget1, gatewayTarget2 } from './targets/gateway.ts';
import type { Deployment, Target } from './targets/target.ts';
import { zookeeperEnsembleTarget, zookeeperStandaloneTarget } from './targets/zookeeper.ts';
import { zookeeperNettyTarget, zookeeperOwnClientTarget, zookeeperTlsTarget } from './targets/zookeeper-tls.ts';
import { MEMORY_WORKLOADS } from './workloads/memory.ts';
import { THROUGHPUT_WORKLOADS, warmUp } from './workloads/throughput.ts';
import { WATCH_WORKLOADS } from './workloads/watch.ts';
import { WATCH_SCALE_WORKLOADS } from './workloads/watch-scale.ts';
import { startOptions, type ResultRow, type RowStatus, type Settings, type Workload } from './workloads/workload.ts';

export const TARGETS: readonly Target[] = [
  corralTarget, zookeeperStandaloneTarget, etcdSingleTarget, corral3Target, zookeeperEnsembleTarget, etcdClusterTarget, corral3Observers2Target,
  gatewayTarget1, gatewayTarget2, zookeeperTlsTarget, zookeeperNettyTarget, corralTlsTarget, zookeeperOwnClientTarget,
];
/**
 * Run only when asked for by name: gateways are compared with `zookeeper` (issue 20), ZooKeeper
 * over TLS with Corral over TLS (`corral-tls`, issue 16), ZooKeeper through another client
 * (`zookeeper-own-client`); none is part of the three-way table.
 */
export const OPT_IN_TARGETS: readonly string[] = ['gateway', 'gateway-2', 'zookeeper-tls', 'zookeeper-netty', 'corral-tls', 'zookeeper-own-client'];
export const WORKLOADS: readonly Workload[] = [...THROUGHPUT_WORKLOADS, ...WATCH_WORKLOADS, ...WATCH_SCALE_WORKLOADS, ...MEMORY_WORKLOADS];
/** Run unless asked for by name (or --big): they take minutes. */
export const OPT_IN_WORKLOADS: readonly string[] = ['memory-1m', 'watch-10k'];

/** The deployment's own warm-up, before its first workload: this many times --warmup-ms per op kind. */
const WARMUP_FACTOR = 3;

/** A row's reason: the error on one line, bounded. */
const message = (error: unknown) => (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 300);

function row(target: Target, workload: Workload, status: RowStatus, reason?: string): ResultRow {
  return {
    target: target.name, nodes: target.nodes, workload: workload.name, kind: workload.kind, status,
    ...(reason === undefined ? {} : { reason }), concurrency: workload.concurrency, ops: 0, opsPerSec: 0, errors: 0, extra: {},
  };
}

async function runOne(target: Target, workload: Workload, settings: Settings, deployment?: Deployment): Promise<ResultRow> {
  settings.log(`${target.name} ${workload.name} ...`);
  try {
    const measured = await workload.run({ target, settings, ...(deployment ? { deployment } : {}) });
    const result: ResultRow = { ...row(target, workload, 'ok'), ...measured };
    settings.log(`${target.name} ${workload.name}: ${Math.round(result.opsPerSec)} /s, p50 ${result.p50Ms?.toFixed(2) ?? '—'} ms, ` +
      `p99 ${result.p99Ms?.toFixed(2) ?? '—'} ms, ops ${result.ops}, errors ${result.errors}` +
      (workload.kind === 'memory' ? `, ${JSON.stringify(result.extra)}` : ''));
    return result;
  } catch (error) {
    settings.log(`${target.name} ${workload.name} failed: ${(error instanceof Error ? error.message : String(error)).slice(0, 3000)}`);
    return row(target, workload, 'failed', message(error));
  }
}

/** Starts a target for the shared workloads and warms it up; undefined (and the reason) when it did not start. */
async function startShared(target: Target, settings: Settings): Promise<{ deployment?: Deployment; reason?: string }> {
  try {
    settings.log(`starting ${target.name} ...`);
    const started = await target.start(startOptions(settings));
    settings.log(`${target.name} ready in ${Math.round(started.readyMs)} ms`);
    try {
      await warmUp(started.deployment, target.bulkBatchMax, settings.warmupMs * WARMUP_FACTOR);
    } catch (error) {
      settings.log(`${target.name} warm-up failed: ${message(error)}`);
    }
    return { deployment: started.deployment };
  } catch (error) {
    settings.log(`${target.name} did not start: ${message(error)}`);
    return { reason: `did not start: ${message(error)}` };
  }
}

/**
 * The row that stands for several rounds: the median by throughput (request workloads) or by p99
 * (watch), with every round's value kept in `extra` so the variance shows.
 */
export function representative(rounds: readonly ResultRow[]): ResultRow {
  const ok = rounds.filter((r) => r.status === 'ok');
  if (ok.length === 0) return rounds[0]!;
  if (rounds.length === 1) return ok[0]!;
  const byWatch = ok[0]!.kind === 'watch';
  const value = (r: ResultRow) => (byWatch ? r.p99Ms ?? Infinity : -r.opsPerSec);
  const sorted = [...ok].sort((a, b) => value(a) - value(b));
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const listed = (pick: (r: ResultRow) => number | undefined) =>
    rounds.map((r) => (r.status === 'ok' ? (pick(r) ?? NaN).toFixed(byWatch ? 2 : 0) : 'failed')).join(' / ');
  return {
    ...median,
    extra: { ...median.extra, rounds: rounds.length, roundsOpsPerSec: listed((r) => r.opsPerSec), roundsP99Ms: listed((r) => r.p99Ms) },
  };
}

/**
 * Every runnable target is started first and stays up; then each round runs each shared workload
 * against each target in turn, so a noisy neighbour on this shared machine hits all targets
 * alike rather than whichever ran at that moment. Memory workloads follow, one fresh deployment
 * each. Rows come out workload by workload, targets in the order given.
 */
export async function runBench(
  targets: readonly Target[], workloads: readonly Workload[], settings: Settings, roundCount = 1,
): Promise<ResultRow[]> {
  const results = new Map<string, ResultRow[]>();
  const record = (t: Target, w: Workload, r: ResultRow) => results.set(`${t.name}/${w.name}`, [...(results.get(`${t.name}/${w.name}`) ?? []), r]);
  const applies = (t: Target, w: Workload) => !(w.ownsDeployment && t.nodes > 1);
  const shared = workloads.filter((w) => !w.ownsDeployment);
  const runnable: Target[] = [];
  for (const target of targets) {
    const available = target.availability();
    if (available.ok) runnable.push(target);
    else {
      settings.log(`${target.name}: ${available.reason}`);
      for (const w of workloads.filter((w) => applies(target, w))) record(target, w, row(target, w, available.status, available.reason));
    }
  }
  const deployments: Array<[Target, Deployment]> = [];
  try {
    for (const target of shared.length > 0 ? runnable : []) {
      const started = await startShared(target, settings);
      if (started.deployment) deployments.push([target, started.deployment]);
      else for (const w of shared) record(target, w, row(target, w, 'failed', started.reason));
    }
    for (let round = 1; round <= roundCount; round++) {
      if (roundCount > 1) settings.log(`round ${round} of ${roundCount}`);
      for (const w of shared) for (const [t, d] of deployments) record(t, w, await runOne(t, w, settings, d));
    }
  } finally {
    await Promise.all(deployments.map(([, d]) => d.stop()));
  }
  for (const w of workloads.filter((x) => x.ownsDeployment)) {
    for (const t of runnable.filter((x) => applies(x, w))) record(t, w, await runOne(t, w, settings));
  }
  return workloads.flatMap((w) => targets.filter((t) => applies(t, w)).map((t) => representative(results.get(`${t.name}/${w.name}`)!)));
}

/**
 * Memory and recovery: a fresh one-member deployment is loaded with N znodes of 100 bytes (N/1000
 * parents of up to 1,000 children, bulk-created in multis/txns), then: its checkpoint is timed
 * (Corral: the checkpoint the load triggers, from its own metric), its RSS is read once it has
 * settled, and it is restarted on the same data to time start → ready with N znodes.
 */
import { runBounded } from '../load-generator.ts';
import { payload, type Deployment } from '../targets/target.ts';
import { startOptions, type Measured, type RunContext, type Workload } from './workload.ts';

const CHILDREN_PER_PARENT = 1000;
const LOAD_PARALLEL = 4;
const SETTLE_MS = 3000;
const QUICK_SETTLE_MS = 200;
const CHECKPOINT_TIMEOUT_MS = 600_000;
const RSS_SAMPLE_MS = 250;
const MB = 1024 * 1024;

interface Layout {
  readonly parents: string[];
  readonly children: string[];
}

/** Exactly `count` znodes: a root, its parents, and their children. */
function layout(count: number): Layout {
  const parentCount = Math.max(1, Math.ceil(count / (CHILDREN_PER_PARENT + 1)));
  const parents = ['/bm', ...Array.from({ length: parentCount }, (_, i) => `/bm/d${i}`)];
  const children: string[] = [];
  for (let i = 0; children.length < count - parents.length; i++) {
    children.push(`/bm/d${i % parentCount}/n${Math.floor(i / parentCount)}`);
  }
  return { parents, children };
}

function chunks(paths: readonly string[], size: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < paths.length; i += size) out.push(paths.slice(i, i + size));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMb = (deployment: Deployment) => deployment.rssBytes()[0]! / MB;

/** Writes until the checkpoint the load made due has completed; its time in ms. */
async function timeCheckpoint(deployment: Deployment, trigger: string): Promise<number | undefined> {
  if (!deployment.checkpointStats) return undefined;
  const client = await deployment.client(1);
  try {
    const deadline = performance.now() + CHECKPOINT_TIMEOUT_MS;
    for (let i = 0; performance.now() < deadline; i++) {
      const stats = await deployment.checkpointStats();
      if (stats.count > 0) return stats.totalSeconds * 1000 / stats.count;
      if (i < 5) await client.setData(trigger, payload(i));
      await sleep(100);
    }
    throw new Error(`no checkpoint within ${CHECKPOINT_TIMEOUT_MS} ms`);
  } finally {
    await client.close();
  }
}

async function runMemory(context: RunContext, count: number): Promise<Measured> {
  const { target, settings } = context;
  const settleMs = settings.quick ? QUICK_SETTLE_MS : SETTLE_MS;
  const { parents, children } = layout(count);
  const batchMax = target.bulkBatchMax;
  const parentBatches = chunks(parents, batchMax);
  const childBatches = chunks(children, batchMax);
  // Corral checkpoints once its log holds this many entries: the leader's first entry, one per
  // batch, then the first trigger write after the load.
  const checkpointEveryEntries = parentBatches.length + childBatches.length + 2;
  const { deployment, readyMs: startEmptyMs } = await target.start({ ...startOptions(settings), checkpointEveryEntries });
  try {
    await sleep(settleMs);
    const rssEmptyMb = rssMb(deployment);
    let rssPeakMb = rssEmptyMb;
    const sampler = setInterval(() => (rssPeakMb = Math.max(rssPeakMb, rssMb(deployment))), RSS_SAMPLE_MS);
    const loadStarted = performance.now();
    const client = await deployment.client(LOAD_PARALLEL);
    let loadMs: number;
    try {
      for (const batch of parentBatches) await client.createMany(batch, payload(0));
      await runBounded(childBatches, LOAD_PARALLEL, (batch) => client.createMany(batch, payload(0)));
      loadMs = performance.now() - loadStarted;
    } finally {
      await client.close();
    }
    settings.log(`  loaded ${count} znodes in ${(loadMs / 1000).toFixed(1)} s`);
    const checkpointMs = await timeCheckpoint(deployment, parents[0]!);
    await sleep(settleMs);
    clearInterval(sampler);
    const rssLoadedMb = rssMb(deployment);
    rssPeakMb = Math.max(rssPeakMb, rssLoadedMb);
    const startToReadyMs = await deployment.restart();
    const check = await deployment.client(1);
    try {
      await check.getData(children[children.length - 1] ?? parents[parents.length - 1]!);
    } finally {
      await check.close();
    }
    await sleep(settleMs);
    const rssRestartedMb = rssMb(deployment);
    return {
      ops: count, opsPerSec: (count * 1000) / loadMs, errors: 0,
      extra: {
        rssMb: rssLoadedMb, rssEmptyMb, rssPeakMb, rssAfterRestartMb: rssRestartedMb,
        startToReadyMs, startEmptyMs, loadMs, ...(checkpointMs === undefined ? {} : { checkpointMs }),
      },
    };
  } catch (error) {
    const died = deployment.exitDetail();
    throw died ? new Error(`${error instanceof Error ? error.message : String(error)}; ${died}`) : error;
  } finally {
    await deployment.stop();
  }
}

function memoryWorkload(name: string, count: number, quickCount: number): Workload {
  return {
    name, kind: 'memory', concurrency: count, ownsDeployment: true,
    run: (context) => {
      const actual = context.settings.quick ? quickCount : count;
      return runMemory(context, actual).then((m) => ({ ...m, concurrency: actual }));
    },
  };
}

export const MEMORY_WORKLOADS: readonly Workload[] = [
  memoryWorkload('memory-100k', 100_000, 2000),
  memoryWorkload('memory-1m', 1_000_000, 5000),
];

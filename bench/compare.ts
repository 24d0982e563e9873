/**
 * `npx tsx bench/compare.ts [options] NAME=ROOT[,KEY=VALUE...] ...`: two or more builds of Corral
 * (checkouts, e.g. `git worktree add /tmp/base HEAD~1` with node_modules linked in) running at
 * the same time, driven in interleaved slices of one workload, so the machine's drift — ±15–25 %
 * within minutes here — hits every build alike. KEY=VALUE pairs go into that build's environment,
 * except `profile=DIR`: that build's processes write V8 CPU profiles into DIR (node --cpu-prof),
 * so two builds can be profiled doing the same work (with --rate).
 * Prints each build's median ops/s and CPU per op (the whole process, and its event loop alone)
 * and each build's median slice-by-slice ratio to the first. For A/B checks while changing the
 * code; `npm run bench` is what compares Corral with ZooKeeper and etcd.
 */
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { runClosedLoop } from './load-generator.ts';
import { stopAll } from './servers/managed-process.ts';
import { corral3Target, corralTarget } from './targets/corral.ts';
import { payload, type Deployment } from './targets/target.ts';
import { warmUp } from './workloads/throughput.ts';

const USAGE = `Usage: npx tsx bench/compare.ts [--workload setData-64|getData-64] [--slices 10] [--slice-ms 2000] [--nodes 1|3] [--rate OPS_PER_S] [--work-dir DIR] NAME=ROOT[,KEY=VALUE...] NAME=ROOT ...`;

interface Build {
  readonly name: string;
  readonly deployment: Deployment;
  readonly rates: number[];
  readonly cpuUs: number[];
  readonly loopUs: number[];
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? NaN;
const loopSeconds = (d: Deployment): number => d.mainThreadCpuSeconds?.() ?? NaN;

/**
 * `op` started at most `rate` times a second (a late start is not made up for): with --rate every
 * build does the same work a second, so its CPU per op is not moved by how much it batches at
 * its own saturation, which a closed loop's CPU per op is.
 */
function paced<T>(op: (seq: number) => Promise<T>, rate: number): (seq: number) => Promise<T> {
  const gapMs = 1000 / rate;
  let nextMs = 0;
  return async (seq) => {
    const now = performance.now();
    nextMs = Math.max(now, nextMs + gapMs);
    if (nextMs > now) await new Promise((resolve) => setTimeout(resolve, nextMs - now));
    return op(seq);
  };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { workload: { type: 'string', default: 'setData-64' }, slices: { type: 'string', default: '10' }, 'slice-ms': { type: 'string', default: '2000' }, nodes: { type: 'string', default: '1' }, rate: { type: 'string', default: '0' }, 'work-dir': { type: 'string', default: tmpdir() }, help: { type: 'boolean' } },
  });
  const slices = Number(values.slices);
  const sliceMs = Number(values['slice-ms']);
  const rate = Number(values.rate);
  if (values.help || positionals.length < 2 || !['setData-64', 'getData-64'].includes(values.workload!) || !(slices > 0) || !(sliceMs > 0) || !(rate >= 0)) {
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  const target = values.nodes === '3' ? corral3Target : corralTarget;
  const builds: Build[] = [];
  for (const spec of positionals) {
    const [head, ...env] = spec.split(',');
    const at = head!.indexOf('=');
    const name = head!.slice(0, at);
    const root = head!.slice(at + 1);
    const saved = { ...process.env };
    let profileDir: string | undefined;
    for (const pair of env) {
      const eq = pair.indexOf('=');
      if (pair.slice(0, eq) === 'profile') profileDir = pair.slice(eq + 1);
      else process.env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    // The server takes its environment at spawn.
    const { deployment } = await target.start({ workDir: values['work-dir']!, corralRoot: root, ...(profileDir === undefined ? {} : { profileDir }) });
    process.env = saved;
    await warmUp(deployment, 100, 1500);
    builds.push({ name, deployment, rates: [], cpuUs: [], loopUs: [] });
  }
  const data = [payload(1), payload(2)];
  for (let slice = 0; slice < slices; slice++) {
    // Alternate the order too: no build always runs right after the same neighbour.
    for (const build of slice % 2 === 0 ? builds : [...builds].reverse()) {
      const client = await build.deployment.client(64);
      const path = (seq: number) => `/bench-s/n${seq % 1000}`;
      const call = values.workload === 'getData-64' ? (seq: number) => client.getData(path(seq)) : (seq: number) => client.setData(path(seq), data[seq & 1]!);
      const op = rate > 0 ? paced(call, rate) : call;
      let cpu0 = 0;
      let loop0 = 0;
      let cpu = 0;
      let loop = 0;
      const result = await runClosedLoop(op, {
        inFlight: 64, warmupMs: 200, durationMs: sliceMs, maxOps: 10_000_000,
        onWindow: (edge) => {
          if (edge === 'open') {
            cpu0 = build.deployment.cpuSeconds();
            loop0 = loopSeconds(build.deployment);
          } else {
            cpu = build.deployment.cpuSeconds() - cpu0;
            loop = loopSeconds(build.deployment) - loop0;
          }
        },
      });
      await client.close();
      build.rates.push(result.opsPerSec);
      build.cpuUs.push((cpu * 1e6) / result.ops);
      build.loopUs.push((loop * 1e6) / result.ops);
    }
  }
  for (const b of builds) {
    console.log(`${b.name.padEnd(14)} ${Math.round(median(b.rates))} ops/s, ${median(b.cpuUs).toFixed(1)} µs CPU/op (event loop ${median(b.loopUs).toFixed(1)}); slices ${b.rates.map(Math.round).join(' ')}`);
  }
  const first = builds[0]!;
  for (const b of builds.slice(1)) {
    const ratios = b.rates.map((r, i) => r / first.rates[i]!);
    console.log(`${b.name} ÷ ${first.name}: median ${median(ratios).toFixed(3)}× (${ratios.map((r) => r.toFixed(2)).join(' ')})`);
  }
}

try {
  await main();
} finally {
  await stopAll();
}

/**
 * Turns result rows into the markdown tables of BENCHMARKS.md: requests, watch delivery, memory
 * and recovery, each with Corral's ratio to every peer of the same size, and the targets
 * checked against this run.
 */
import type { ResultRow } from './workloads/workload.ts';

const num = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v) ? '—' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v < 10 ? num(v, 2) : v < 100 ? num(v, 1) : num(v));
const ratio = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(2)}×`);
const extra = (row: ResultRow | undefined, key: string) => {
  const value = row?.extra[key];
  return typeof value === 'number' ? value : undefined;
};

/** The Corral row of the same size, or undefined. */
function corralOf(rows: readonly ResultRow[], row: ResultRow): ResultRow | undefined {
  const name = row.nodes === 3 ? 'corral-3' : 'corral';
  return rows.find((r) => r.target === name && r.workload === row.workload && r.status === 'ok');
}

function find(rows: readonly ResultRow[], target: string, workload: string): ResultRow | undefined {
  return rows.find((r) => r.target === target && r.workload === workload);
}

const notOk = (row: ResultRow) => `${row.status === 'failed' ? 'failed: ' : ''}${row.reason ?? row.status}`;

function requestTable(rows: readonly ResultRow[]): string[] {
  const out = [
    '| workload | target | ops/s | p50 ms | p99 ms | Corral ÷ target (ops/s) | server CPU µs/op | client CPU µs/op | others\' CPU % |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const row of rows.filter((r) => r.kind === 'throughput')) {
    if (row.status !== 'ok') {
      out.push(`| ${row.workload} | ${row.target} | ${notOk(row)} | | | | | | |`);
      continue;
    }
    const corral = corralOf(rows, row);
    out.push(`| ${row.workload} | ${row.target} | ${num(row.opsPerSec)} | ${ms(row.p50Ms)} | ${ms(row.p99Ms)} | ` +
      `${corral ? ratio(corral.opsPerSec / row.opsPerSec) : '—'} | ${num(extra(row, 'serverCpuUsPerOp'))} | ` +
      `${num(extra(row, 'clientCpuUsPerOp'))} | ${num(extra(row, 'otherCpuPct'))} |`);
  }
  return out;
}

function watchTable(rows: readonly ResultRow[]): string[] {
  const out = [
    '| workload | target | watchers | events/s | p50 ms | p99 ms | Corral p99 ÷ target p99 | p50 ms from send | p99 ms from send | others\' CPU % |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const row of rows.filter((r) => r.kind === 'watch')) {
    if (row.status !== 'ok') {
      out.push(`| ${row.workload} | ${row.target} | ${row.concurrency} | ${notOk(row)} | | | | | | |`);
      continue;
    }
    const corral = corralOf(rows, row);
    const p99Ratio = corral && row.p99Ms! > 0 ? ratio(corral.p99Ms! / row.p99Ms!) : '—';
    out.push(`| ${row.workload} | ${row.target} | ${row.concurrency} | ${num(row.opsPerSec)} | ${ms(row.p50Ms)} | ${ms(row.p99Ms)} | ` +
      `${p99Ratio} | ${ms(extra(row, 'fromSendP50Ms'))} | ${ms(extra(row, 'fromSendP99Ms'))} | ${num(extra(row, 'otherCpuPct'))} |`);
  }
  return out;
}

function memoryTable(rows: readonly ResultRow[]): string[] {
  const out = [
    '| workload | target | znodes | RSS MB | Corral RSS ÷ target | RSS after restart MB | RSS empty MB | start → ready ms | start empty ms | checkpoint ms | load znodes/s |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const row of rows.filter((r) => r.kind === 'memory')) {
    if (row.status !== 'ok') {
      out.push(`| ${row.workload} | ${row.target} | ${num(row.concurrency)} | ${notOk(row)} | | | | | | | |`);
      continue;
    }
    const corral = corralOf(rows, row);
    const rss = extra(row, 'rssMb');
    const corralRss = extra(corral, 'rssMb');
    out.push(`| ${row.workload} | ${row.target} | ${num(row.concurrency)} | ${num(rss)} | ${corralRss && rss ? ratio(corralRss / rss) : '—'} | ` +
      `${num(extra(row, 'rssAfterRestartMb'))} | ${num(extra(row, 'rssEmptyMb'))} | ${num(extra(row, 'startToReadyMs'))} | ${num(extra(row, 'startEmptyMs'))} | ` +
      `${num(extra(row, 'checkpointMs'))} | ${num(row.opsPerSec)} |`);
  }
  return out;
}

export interface TargetCheck {
  readonly goal: string;
  readonly measured: string;
  readonly verdict: 'holds' | 'does not hold' | 'not measured';
}

function throughputGoal(rows: readonly ResultRow[], workload: string, corral: string, peer: string, factor: number): TargetCheck {
  const goal = `${corral} ${workload} ≥ ${factor.toFixed(1)}× ${peer}`;
  const a = find(rows, corral, workload);
  const b = find(rows, peer, workload);
  if (a?.status !== 'ok' || b?.status !== 'ok') {
    return { goal, measured: `${corral}: ${a ? (a.status === 'ok' ? 'ok' : notOk(a)) : 'not run'}; ${peer}: ${b ? (b.status === 'ok' ? 'ok' : notOk(b)) : 'not run'}`, verdict: 'not measured' };
  }
  const r = a.opsPerSec / b.opsPerSec;
  const rounds = roundRatios(a, b);
  const spread = rounds.length > 1 ? `; rounds ${Math.min(...rounds).toFixed(2)}–${ratio(Math.max(...rounds))}` : '';
  return { goal, measured: `${num(a.opsPerSec)} vs ${num(b.opsPerSec)} ops/s = ${ratio(r)}${spread}`, verdict: r >= factor ? 'holds' : 'does not hold' };
}

/**
 * The ratio in each round (the two ran within a minute of each other), so a verdict shows how
 * far the machine's drift moved it; empty when a round failed or there was one.
 */
export function roundRatios(a: ResultRow, b: ResultRow): number[] {
  const perRound = (row: ResultRow) => String(row.extra['roundsOpsPerSec'] ?? '').split(' / ').filter(Boolean).map(Number);
  const x = perRound(a);
  const y = perRound(b);
  if (x.length !== y.length || x.some((v) => !Number.isFinite(v)) || y.some((v) => !(v > 0))) return [];
  return x.map((v, i) => v / y[i]!);
}

function watchGoal(rows: readonly ResultRow[], workload: string): TargetCheck {
  const goal = `corral ${workload} p99 ≤ zookeeper's`;
  const a = find(rows, 'corral', workload);
  const b = find(rows, 'zookeeper', workload);
  if (a?.status !== 'ok' || b?.status !== 'ok') return { goal, measured: 'not run in this run', verdict: 'not measured' };
  return { goal, measured: `${ms(a.p99Ms)} vs ${ms(b.p99Ms)} ms`, verdict: a.p99Ms! <= b.p99Ms! ? 'holds' : 'does not hold' };
}

function memoryGoals(rows: readonly ResultRow[]): TargetCheck[] {
  const a = find(rows, 'corral', 'memory-1m');
  const b = find(rows, 'zookeeper', 'memory-1m');
  const rssGoal = 'corral RSS with 1M znodes ≤ zookeeper\'s';
  const readyGoal = 'corral start → ready with 1M znodes ≤ 5 s';
  const checks: TargetCheck[] = [];
  if (a?.status === 'ok' && b?.status === 'ok') {
    const ra = extra(a, 'rssMb')!;
    const rb = extra(b, 'rssMb')!;
    checks.push({ goal: rssGoal, measured: `${num(ra)} vs ${num(rb)} MB`, verdict: ra <= rb ? 'holds' : 'does not hold' });
  } else {
    checks.push({ goal: rssGoal, measured: 'memory-1m not run (add --big)', verdict: 'not measured' });
  }
  if (a?.status === 'ok') {
    const t = extra(a, 'startToReadyMs')!;
    checks.push({ goal: readyGoal, measured: `${num(t)} ms`, verdict: t <= 5000 ? 'holds' : 'does not hold' });
  } else {
    checks.push({ goal: readyGoal, measured: 'memory-1m not run (add --big)', verdict: 'not measured' });
  }
  return checks;
}

export function checkTargets(rows: readonly ResultRow[]): TargetCheck[] {
  return [
    throughputGoal(rows, 'setData-64', 'corral', 'zookeeper', 1),
    throughputGoal(rows, 'setData-64', 'corral', 'etcd', 2),
    throughputGoal(rows, 'getData-64', 'corral', 'zookeeper', 1),
    throughputGoal(rows, 'setData-64', 'corral-3', 'zookeeper-3', 1),
    watchGoal(rows, 'watch-50'),
    watchGoal(rows, 'watch-1000'),
    ...memoryGoals(rows),
  ];
}

export function formatReport(rows: readonly ResultRow[]): string {
  const sections: string[] = [];
  if (rows.some((r) => r.kind === 'throughput')) sections.push('### Requests', '', ...requestTable(rows), '');
  if (rows.some((r) => r.kind === 'watch')) {
    sections.push('### Watch delivery (latency from the write\'s acknowledgement to each event)', '', ...watchTable(rows), '');
  }
  if (rows.some((r) => r.kind === 'memory')) sections.push('### Memory and recovery', '', ...memoryTable(rows), '');
  sections.push('### Targets', '', '| target | measured | verdict |', '|---|---|---|');
  for (const check of checkTargets(rows)) sections.push(`| ${check.goal} | ${check.measured} | ${check.verdict} |`);
  return `${sections.join('\n')}\n`;
}

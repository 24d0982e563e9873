/**
 * `npm run bench`: Corral side by side with ZooKeeper 3.8 and etcd 3.4 on this machine, all on
 * 127.0.0.1. Prints the tables (markdown) on stdout, progress on stderr, and with --out writes
 * every row and the machine as JSON. See BENCHMARKS.md for the results and how to read them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OPT_IN_TARGETS, OPT_IN_WORKLOADS, runBench, TARGETS, WORKLOADS } from './harness.ts';
import { formatReport } from './report.ts';
import { killAllNow, liveProcessCount, stopAll } from './servers/managed-process.ts';
import { etcdAvailability } from './servers/etcd-server.ts';
import { REPO_ROOT } from './targets/corral.ts';
import type { Settings } from './workloads/workload.ts';

const USAGE = `Usage: npm run bench -- [options]

  --targets LIST       comma-separated, default all but ${OPT_IN_TARGETS.join(',')}: ${TARGETS.map((t) => t.name).join(',')}
  --workloads LIST     comma-separated, default all but ${OPT_IN_WORKLOADS.join(',')}: ${WORKLOADS.map((w) => w.name).join(',')}
  --big                also run ${OPT_IN_WORKLOADS.join(',')} (minutes)
  --duration-ms N      measured time per workload (default 5000; --quick 500)
  --warmup-ms N        unmeasured warm-up per workload (default 1000; --quick 100)
  --max-ops N          most ops (or events) measured per workload (default 1000000)
  --rounds N           run the request and watch workloads N times, interleaved across targets,
                       and report each row's median round (default 3; --quick 1)
  --quick              tiny counts (5/20 watchers, 2k/5k znodes) and short times, for the smoke test
  --out FILE           write the rows and the machine as JSON
  --profile-dir DIR    run Corral under node --cpu-prof, one .cpuprofile per process in DIR
  --work-dir DIR       parent of the servers' temp dirs (default ${tmpdir()})
  --corral-root DIR    run Corral from this checkout (e.g. a git worktree of a commit, with
                       node_modules linked in) instead of this repository
  --help
`;

/** A mistake on the command line: reported in one line, exit code 2. */
class UsageError extends Error {}

function positiveInt(raw: string | undefined, fallback: number, flag: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${flag} must be a positive integer, got "${raw}"`);
  return n;
}

function pick<T extends { name: string }>(all: readonly T[], raw: string | undefined, fallback: readonly T[], what: string): T[] {
  if (raw === undefined) return [...fallback];
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.includes('all')) return [...all];
  const unknown = names.filter((n) => !all.some((x) => x.name === n));
  if (unknown.length > 0) throw new UsageError(`unknown ${what}: ${unknown.join(', ')} (known: ${all.map((x) => x.name).join(', ')})`);
  return all.filter((x) => names.includes(x.name));
}

/** The version a command prints (on stdout or stderr, as `java -version` does). */
function versionOf(command: string, args: string[], pattern: RegExp): string {
  const run = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
  if (run.error !== undefined) return 'not installed';
  return pattern.exec(`${run.stdout}\n${run.stderr}`)?.[1] ?? 'unknown';
}

/** The Corral build measured: its commit, and whether its working tree had uncommitted changes. */
function corralVersion(root: string): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' });
    return { commit, dirty: status.trim() !== '' };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

function machine(corralRoot: string) {
  return {
    corral: corralVersion(corralRoot),
    cpuModel: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), kernel: release(),
    node: process.version, java: versionOf('java', ['-version'], /version "([^"]+)"/),
    zookeeper: versionOf('dpkg-query', ['-W', '-f=${Version}', 'zookeeper'], /^(\S+)/), etcd: etcdAvailability().version || 'not installed',
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      targets: { type: 'string' }, workloads: { type: 'string' }, big: { type: 'boolean' },
      'duration-ms': { type: 'string' }, 'warmup-ms': { type: 'string' }, 'max-ops': { type: 'string' }, rounds: { type: 'string' },
      quick: { type: 'boolean' }, out: { type: 'string' }, 'profile-dir': { type: 'string' }, 'work-dir': { type: 'string' },
      'corral-root': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const quick = values.quick ?? false;
  const defaultWorkloads = WORKLOADS.filter((w) => values.big || !OPT_IN_WORKLOADS.includes(w.name));
  const targets = pick(TARGETS, values.targets, TARGETS.filter((t) => !OPT_IN_TARGETS.includes(t.name)), 'targets');
  const workloads = pick(WORKLOADS, values.workloads, defaultWorkloads, 'workloads');
  const profileDir = values['profile-dir'] ? resolve(values['profile-dir']) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const settings: Settings = {
    durationMs: positiveInt(values['duration-ms'], quick ? 500 : 5000, 'duration-ms'),
    warmupMs: positiveInt(values['warmup-ms'], quick ? 100 : 1000, 'warmup-ms'),
    maxOps: positiveInt(values['max-ops'], 1_000_000, 'max-ops'),
    quick, workDir: values['work-dir'] ? resolve(values['work-dir']) : tmpdir(),
    ...(profileDir ? { profileDir } : {}),
    ...(values['corral-root'] ? { corralRoot: resolve(values['corral-root']) } : {}),
    log: (line) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`),
  };
  const rounds = positiveInt(values.rounds, quick ? 1 : 3, 'rounds');
  const about = machine(settings.corralRoot ?? REPO_ROOT);
  settings.log(`corral ${about.corral.commit}${about.corral.dirty ? ' (src has uncommitted changes)' : ''}; ` +
    `${about.cpus} × ${about.cpuModel}, node ${about.node}; targets ${targets.map((t) => t.name).join(',')}; ` +
    `workloads ${workloads.map((w) => w.name).join(',')}`);
  const startedAt = new Date().toISOString();
  const rows = await runBench(targets, workloads, settings, rounds);
  process.stdout.write(formatReport(rows));
  if (values.out) {
    const { log: _log, ...recorded } = settings;
    const file = { startedAt, finishedAt: new Date().toISOString(), machine: about, settings: { ...recorded, rounds }, rows };
    writeFileSync(values.out, `${JSON.stringify(file, null, 2)}\n`);
    settings.log(`wrote ${values.out}`);
  }
  return 0;
}

let interrupted = false;
const onSignal = (signal: NodeJS.Signals) => {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(`[bench] ${signal}: stopping ${liveProcessCount()} server process(es)\n`);
  stopAll().finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
process.on('exit', killAllNow);

main()
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  }, async (error: unknown) => {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const text = error instanceof Error ? (usage ? error.message : error.stack ?? error.message) : String(error);
    process.stderr.write(`bench: ${text}${usage ? '\nRun with --help for the options.' : ''}\n`);
    await stopAll();
    process.exit(usage ? 2 : 1);
  });

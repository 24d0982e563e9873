/**
 * The consumer-group example in one command: writes the group's config znode if it is missing,
 * then runs `--workers` workers, each its own process (worker.ts), and relays what they print.
 *   npx tsx examples/consumer-group/main.ts --workers 3 --server http://127.0.0.1:8181
 * Each worker's pid is printed: `kill -9 <pid>` one and watch its partitions move once its
 * session expires; Ctrl-C stops them all. Workers are tied to this process through their stdin,
 * so they stop when it goes, however it goes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clientOf, ensurePath, GROUP_HELP, GROUP_OPTIONS, groupOptionsOf, GroupPaths, Reporter, runMain, UsageError, type GroupOptions } from './group.ts';

const WORKERS_MAX = 32;
/** How long the workers get to leave the group after Ctrl-C before they are killed. */
const STOP_GRACE_MS = 15_000;
const WORKER_ENTRY = fileURLToPath(new URL('./worker.ts', import.meta.url));

const USAGE = `usage: main.ts [--workers <n>] [options]
  --workers <n>              worker processes to run, ids w1..wn (default 3, at most ${WORKERS_MAX})
${GROUP_HELP}`;

/** The flags a worker gets: the launcher's own, as given. */
function workerArgs(options: GroupOptions, id: string): string[] {
  return [
    '--server', options.servers.join(','), '--group', options.group, '--partitions', String(options.partitions),
    '--batch-size', String(options.batchSize), '--interval-ms', String(options.intervalMs),
    '--session-timeout-ms', String(options.sessionTimeoutMs), '--id', id, '--stop-with-stdin',
    ...(options.json ? ['--json'] : []),
  ];
}

function startWorker(options: GroupOptions, id: string, report: Reporter): ChildProcess {
  // Credentials go in the environment, not argv: other local users can read a process's argv (ps).
  const env = options.user ? { ...process.env, CORRAL_USER: options.user } : process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY, ...workerArgs(options, id)], { stdio: ['pipe', 'pipe', 'inherit'], env });
  createInterface({ input: child.stdout! }).on('line', (line) => process.stdout.write(`${line}\n`));
  report.event('spawned', { id, pid: child.pid }, `started worker ${id} (pid ${child.pid})`);
  child.once('exit', (code, signal) => report.event('exited', { id, pid: child.pid, code, signal }, `worker ${id} (pid ${child.pid}) exited (${signal ?? `code ${code}`})`));
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { ...GROUP_OPTIONS, workers: { type: 'string', default: '3' } }, strict: true });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const options = groupOptionsOf(values);
  const count = Number(values.workers);
  if (!/^\d+$/.test(values.workers) || count < 1 || count > WORKERS_MAX) throw new UsageError(`--workers must be an integer in [1, ${WORKERS_MAX}], got "${values.workers}"`);
  const report = new Reporter('main', options.json);
  const paths = new GroupPaths(options.group);
  await ensurePath(clientOf(options), paths.config, JSON.stringify({ partitions: options.partitions, batchSize: options.batchSize }));
  report.event('group', { base: paths.base, servers: options.servers }, `group ${options.group} at ${paths.base} on ${options.servers.join(', ')}`);

  const children = Array.from({ length: count }, (_, i) => startWorker(options, `w${i + 1}`, report));
  const allExited = Promise.all(children.map(exited));
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  const timer = options.durationMs > 0 ? setTimeout(() => stop.abort(), options.durationMs) : undefined;
  await Promise.race([allExited, new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }))]);
  clearTimeout(timer);

  report.event('stopping', {}, 'stopping the workers');
  for (const child of children) child.stdin?.end(); // each worker leaves the group when its stdin closes
  const grace = setTimeout(() => children.forEach((child) => child.kill('SIGKILL')), STOP_GRACE_MS);
  await allExited;
  clearTimeout(grace);
  return 0;
}

runMain(main, USAGE);

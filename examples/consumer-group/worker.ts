/**
 * One consumer-group worker in this process:
 *   npx tsx examples/consumer-group/worker.ts --id w4 [--server http://127.0.0.1:8181] [options]
 * Ctrl-C (SIGINT) or SIGTERM leaves the group at once (partitions move now); SIGKILL leaves it when
 * the session expires. Exit codes: 0 stopped, 2 bad usage, 3 the session was lost, 1 failed.
 */
import { parseArgs } from 'node:util';
import { ConsumerWorker } from './consumer-worker.ts';
import { clientOf, GROUP_HELP, GROUP_OPTIONS, groupOptionsOf, Reporter, runMain, UsageError } from './group.ts';

const USAGE = `usage: worker.ts [--id <name>] [options]
  --id <name>                this worker's id, one znode name (default w-<pid>)
  --stop-with-stdin          stop when stdin closes (how main.ts ties its workers to itself)
${GROUP_HELP}`;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { ...GROUP_OPTIONS, id: { type: 'string' }, 'stop-with-stdin': { type: 'boolean', default: false } }, strict: true });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const options = groupOptionsOf(values);
  const id = values.id ?? `w-${process.pid}`;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw new UsageError(`--id is one znode name of [A-Za-z0-9_.-], got "${id}"`);
  const report = new Reporter(id, options.json);
  const stop = new AbortController();
  const onSignal = (name: string) => () => {
    if (!stop.signal.aborted) report.event('signal', { signal: name }, `${name}: leaving the group`);
    stop.abort();
  };
  process.on('SIGINT', onSignal('SIGINT'));
  process.on('SIGTERM', onSignal('SIGTERM'));
  if (values['stop-with-stdin']) {
    process.stdin.on('close', onSignal('stdin closed')).resume();
  }
  const timer = options.durationMs > 0 ? setTimeout(onSignal('duration reached'), options.durationMs) : undefined;
  const worker = new ConsumerWorker(clientOf(options), options, id, report);
  try {
    await worker.start();
    const reason = await worker.run(stop.signal);
    return reason === 'session-lost' ? 3 : 0;
  } finally {
    clearTimeout(timer);
    await worker.close();
    process.stdin.pause();
  }
}

runMain(main, USAGE);

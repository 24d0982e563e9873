/**
 * `corral-cli`: zkCli.sh's commands against a Corral node or cluster, on commander.
 * Exit codes: 0 done; 1 a ZooKeeper error (its code on stderr, e.g. `NONODE (-101)`) or no
 * server reachable (CONNECTIONLOSS), or a refused restore; 2 a usage mistake (one line on stderr);
 * 3 a damaged backup file (backup-commands.ts).
 */
import { Command, CommanderError, Option } from 'commander';
import { CorralError } from '../client/corral-client.ts';
import { DEFAULT_SERVER, parsePositiveInt, parseServers, parseUser, parseVersion, UsageError } from './args.ts';
import { backup, describeBackupFailure, restore } from './backup-commands.ts';
import * as commands from './commands.ts';
import { Output } from './output.ts';
import { watch } from './watch.ts';
import { addMemberCommands } from './member-cli.ts';

interface GlobalOptions {
  server: string[];
  user?: string;
  json?: boolean;
  timeout: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** What every command runs inside: the client, the output, and the `--timeout` bound. */
function run<A extends unknown[]>(
  job: (ctx: commands.Context, ...args: A) => Promise<void>,
  { bounded = () => true }: { bounded?: (options: Record<string, unknown>) => boolean } = {},
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const global = command.optsWithGlobals<GlobalOptions>();
    const out = new Output(global.json === true);
    const reroute = (server: string): commands.Context => ({ client: commands.makeClient([server], global.user), out, reroute });
    const ctx = { client: commands.makeClient(global.server, global.user), out, reroute };
    const jobArgs = args.slice(0, -1) as A;
    if (!bounded(command.opts())) return job(ctx, ...jobArgs);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CorralError(503, 'OPERATIONTIMEOUT', -7, `no answer within ${global.timeout} ms`)), global.timeout);
    });
    try {
      await Promise.race([job(ctx, ...jobArgs), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
}

export function buildProgram(): Command {
  const program = new Command('corral-cli')
    .description('ZooKeeper-style command line for Corral (zkCli.sh commands over the HTTP API)')
    .addOption(new Option('--server <list>', 'comma-separated server URLs or host:port, tried in order (failover)')
      .env('CORRAL_SERVER').default([DEFAULT_SERVER], DEFAULT_SERVER).argParser(parseServers))
    .addOption(new Option('--user <user:password>', 'credentials sent as HTTP Basic (the digest identity, like addauth digest)')
      .env('CORRAL_USER').argParser(parseUser))
    .option('--json', 'print results as JSON (one document per line) for scripts')
    .option('--timeout <ms>', 'give up on a command after this long in ms (not watch, not create --hold)', parsePositiveInt, DEFAULT_TIMEOUT_MS)
    .showSuggestionAfterError(true)
    .exitOverride();
  addReadCommands(program);
  addWriteCommands(program);
  addAclCommands(program);
  addMemberCommands(program, run);
  addClusterCommands(program);
  addBackupCommands(program);
  for (const command of program.commands) command.exitOverride().showSuggestionAfterError(true);
  return program;
}

function addReadCommands(program: Command): void {
  program.command('ls').description('list the children of a znode (zkCli ls)')
    .argument('<path>').option('-R', 'list the whole subtree, one path per line').option('-s', 'print the stat too')
    .action(run((ctx, path: string, o: { R?: boolean; s?: boolean }) => commands.ls(ctx, path, { recursive: o.R, stat: o.s })));

  program.command('get').description("print a znode's data (zkCli get)")
    .argument('<path>').option('-s', 'print the stat too')
    .action(run((ctx, path: string, o: { s?: boolean }) => commands.get(ctx, path, { stat: o.s })));

  program.command('stat').description("print a znode's stat (zkCli stat)")
    .argument('<path>')
    .action(run((ctx, path: string) => commands.stat(ctx, path)));

  program.command('sync').description('wait until the answering server has every committed change (zkCli sync)')
    .argument('<path>')
    .action(run((ctx, path: string) => commands.sync(ctx, path)));
}

function addWriteCommands(program: Command): void {

  program.command('set').description("replace a znode's data (zkCli set)")
    .argument('<path>').argument('<data>').option('-v <version>', 'only if the data version is this one', parseVersion)
    .action(run((ctx, path: string, data: string, o: { v?: number }) => commands.set(ctx, path, data, { version: o.v })));

  program.command('create').description('create a znode (zkCli create)')
    .argument('<path>').argument('[data]', 'the data (default empty)')
    .option('-e', 'ephemeral: deleted when this command exits (it lives as long as the command\'s session; see --hold)')
    .option('-s', 'sequential: a 10-digit counter is appended to the name')
    .option('-c', 'container: deleted by the server once its last child is gone')
    .option('-t <ttl>', 'TTL in ms: a persistent node deleted once it has had no children and no change for that long', parsePositiveInt)
    .option('--acl <acl>', "the node's ACL in zkCli's form, e.g. world:anyone:r,auth::cdrwa")
    .option('--hold <ms>', 'with -e: keep the session (and the node) this long before exiting', parsePositiveInt)
    .option('--session-timeout <ms>', 'with -e: the session timeout to ask for', parsePositiveInt, 10_000)
    .action(run((ctx, path: string, data: string | undefined, o: { e?: boolean; s?: boolean; c?: boolean; t?: number; acl?: string; hold?: number; sessionTimeout: number }) =>
      commands.create(ctx, path, data, { ephemeral: o.e, sequential: o.s, container: o.c, ttl: o.t, acl: o.acl, hold: o.hold, sessionTimeout: o.sessionTimeout }), { bounded: (o) => o.hold === undefined }));

  program.command('delete').description('delete a znode without children (zkCli delete)')
    .argument('<path>').option('-v <version>', 'only if the data version is this one', parseVersion)
    .action(run((ctx, path: string, o: { v?: number }) => commands.del(ctx, path, { version: o.v })));

  program.command('deleteall').description('delete a znode and everything under it (zkCli deleteall)')
    .argument('<path>')
    .action(run((ctx, path: string) => commands.deleteAll(ctx, path)));

}

function addAclCommands(program: Command): void {
  program.command('getAcl').description("print a znode's ACL, one scheme:id:perms per line (zkCli getAcl)")
    .argument('<path>').option('-s', 'print the stat too')
    .action(run((ctx, path: string, o: { s?: boolean }) => commands.getAcl(ctx, path, { stat: o.s })));

  program.command('setAcl').description("replace a znode's ACL (zkCli setAcl), e.g. digest:bob:HASH:cdrwa,world:anyone:r")
    .argument('<path>').argument('<acl>').option('-v <aversion>', 'only if the ACL version is this one', parseVersion)
    .action(run((ctx, path: string, acl: string, o: { v?: number }) => commands.setAcl(ctx, path, acl, { version: o.v })));

}

function addClusterCommands(program: Command): void {
  program.command('watch').description('print changes as they happen (session-less watch stream; resumes after a reconnect)')
    .argument('<path>').option('-R', 'the whole subtree, not just the node')
    .option('--count <n>', 'exit after n events', parsePositiveInt)
    .option('--from-zxid <zxid>', 'start after this zxid (replaying the changes since) instead of now')
    .option('--retry-for <ms>', 'give up after this long without a stream', parsePositiveInt, 60_000)
    .action(run((ctx, path: string, o: { R?: boolean; count?: number; fromZxid?: string; retryFor: number }) =>
      watch(ctx, path, { recursive: o.R, count: o.count, fromZxid: o.fromZxid, retryFor: o.retryFor }), { bounded: () => false }));

  program.command('cluster').description("the answering server's view of the cluster: members, roles, lag")
    .action(run((ctx) => commands.cluster(ctx)));
}

function addBackupCommands(program: Command): void {
  program.command('backup').description('download a backup of the whole state (superuser only: --user) into <file>, checked, then renamed into place')
    .argument('<file>').option('--stall-timeout <ms>', 'give up when the server sends nothing for this long', parsePositiveInt, 60_000)
    .action(run((ctx, file: string, o: { stallTimeout: number }) => backup(ctx, file, { stallMs: o.stallTimeout }), { bounded: () => false }));

  program.command('restore').description('write a new data directory from a backup file (offline: run it before starting the member)')
    .argument('<file>').requiredOption('--data-dir <dir>', 'the data directory to create (absent or empty)')
    .action(run(async (ctx, file: string, o: { dataDir: string }) => restore(ctx, file, o), { bounded: () => false }));
}

/** The one-line description of a failure, and the exit code it means. */
export function describeFailure(error: unknown): { text: string; exitCode: number } {
  if (error instanceof UsageError) return { text: error.message, exitCode: 2 };
  const backupFailure = describeBackupFailure(error);
  if (backupFailure) return backupFailure;
  if (error instanceof CorralError) {
    const message = error.message.startsWith(`${error.code}: `) ? error.message.slice(error.code.length + 2) : error.message;
    return { text: `${error.code} (${error.zkCode}): ${message}`, exitCode: 1 };
  }
  // fetch's "fetch failed" hides the reason (ECONNREFUSED, …) in its cause.
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${(error.cause as NodeJS.ErrnoException).code ?? error.cause.message})` : '';
  const message = error instanceof Error ? error.message : String(error);
  return { text: `CONNECTIONLOSS (-4): no server answered: ${message}${cause}`, exitCode: 1 };
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    // commander has already printed its own message (help, or the usage error in one line).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const { text, exitCode } = describeFailure(error);
    new Output(false).error(text);
    return exitCode;
  }
}

// `corral-cli ls / | head -1`: a closed pipe ends the output, it is not a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
process.exitCode = await main(process.argv.slice(2));
// Sockets kept alive by fetch must not hold the exit back once the work is done.
setTimeout(() => process.exit(), 200).unref();

/**
 * The `members` and `leader` command groups of corral-cli (member-commands.ts does the work):
 *   corral-cli members list
 *   corral-cli members add <id> --client host:port --peer host:port [--no-promote] [--wait ms]
 *   corral-cli members promote <id> [--wait ms]
 *   corral-cli members remove <id>
 *   corral-cli members replace <old-id> <new-id> --client host:port --peer host:port [--wait ms]
 *   corral-cli leader transfer [--to id]
 * The changes wait on the server (up to --wait for a learner to catch up), so they are not
 * bounded by --timeout.
 */
import type { Command } from 'commander';
import { parsePositiveInt } from './args.ts';
import type { Context } from './commands.ts';
import { leaderTransfer, membersAdd, membersList, membersPromote, membersRemove, membersReplace } from './member-commands.ts';

type Run = <A extends unknown[]>(
  job: (ctx: Context, ...args: A) => Promise<void>,
  options?: { bounded?: (options: Record<string, unknown>) => boolean },
) => (...args: unknown[]) => Promise<void>;

const WAIT_MS_DEFAULT = 30_000;
const unbounded = { bounded: () => false };

interface AddOptions { client: string; peer: string; promote: boolean; wait: number }

export function addMemberCommands(program: Command, run: Run): void {
  const members = program.command('members').description('the cluster\'s members: list, add, promote, remove, replace (operators only)');
  members.command('list').description('the members with their roles, addresses, lag and activity (as the leader sees them)')
    .action(run((ctx) => membersList(ctx)));
  members.command('add').description('add a member as a learner, promoted to voter once caught up (unless --no-promote)')
    .argument('<id>').requiredOption('--client <host:port>', 'where it serves clients').requiredOption('--peer <host:port>', 'where the members dial it')
    .option('--no-promote', 'leave it a learner (promote it later)').option('--wait <ms>', 'how long the server waits for it to catch up', parsePositiveInt, WAIT_MS_DEFAULT)
    .action(run((ctx, id: string, o: AddOptions) => membersAdd(ctx, id, { client: o.client, peer: o.peer, promote: o.promote, waitMs: o.wait }), unbounded));
  members.command('promote').description('make a learner a voter once it caught up')
    .argument('<id>').option('--wait <ms>', 'how long the server waits for it to catch up', parsePositiveInt, WAIT_MS_DEFAULT)
    .action(run((ctx, id: string, o: { wait: number }) => membersPromote(ctx, id, o.wait), unbounded));
  members.command('remove').description('remove a member (refused when the quorum would be lost)')
    .argument('<id>')
    .action(run((ctx, id: string) => membersRemove(ctx, id), unbounded));
  members.command('replace').description('replace a (dead) member: add the new one, promote it once caught up, remove the old one')
    .argument('<old-id>').argument('<new-id>')
    .requiredOption('--client <host:port>', 'where the new member serves clients').requiredOption('--peer <host:port>', 'where the members dial it')
    .option('--wait <ms>', 'how long the server waits for it to catch up', parsePositiveInt, WAIT_MS_DEFAULT)
    .action(run((ctx, old: string, id: string, o: AddOptions) => membersReplace(ctx, old, id, { client: o.client, peer: o.peer, waitMs: o.wait }), unbounded));
  for (const command of members.commands) command.exitOverride().showSuggestionAfterError(true);

  const leader = program.command('leader').description('leadership (operators only)');
  leader.command('transfer').description('hand leadership to member --to (default: the most caught-up voter)')
    .option('--to <id>', 'the voter to hand leadership to')
    .action(run((ctx, o: { to?: string }) => leaderTransfer(ctx, o.to)));
  for (const command of leader.commands) command.exitOverride().showSuggestionAfterError(true);
}

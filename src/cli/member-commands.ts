/**
 * `corral-cli members list|add|promote|remove|replace` and `corral-cli leader transfer`: the
 * operator's membership changes and leadership transfer over the admin routes
 * (routes/cluster-members.ts, routes/cluster-leader.ts). A change is made on the leader: when
 * the member asked is not it, the answer names the leader's address and the command asks it.
 */
import type { components } from '../client/api-types.ts';
import { CorralError } from '../client/corral-client.ts';
import { parseMemberId } from '../core/consensus/cluster-config.ts';
import { UsageError } from './args.ts';
import { failure, type Context } from './commands.ts';

type Members = components['schemas']['Members'];
type MembershipChange = components['schemas']['MembershipChange'];

/** Hops to the leader a command follows at most (a leader that moves meanwhile). */
const LEADER_HOPS_MAX = 3;

function printMembers(ctx: Context, members: Members): void {
  ctx.out.line(`voters ${members.voters.join(',')}; learners ${members.learners.join(',') || 'none'}; leader ${members.leader ?? 'none'}`);
  ctx.out.table(['ID', 'ROLE', 'LEADER', 'CLIENT', 'PEER', 'LAG', 'ACTIVE'], members.members.map((m) => [
    String(m.id), m.role, m.leader ? 'yes' : '', m.client ?? '-', m.peer ?? '-', m.lag === null ? '-' : String(m.lag), m.active === null ? '-' : String(m.active),
  ]));
}

export async function membersList(ctx: Context): Promise<void> {
  const response = await ctx.client.raw('/v1/cluster/members');
  if (!response.ok) throw await failure(response);
  const members = (await response.json()) as Members;
  if (ctx.out.json) return ctx.out.data(members);
  printMembers(ctx, members);
}

/** The leader's client address a "not the leader" answer names, if it names one. */
export function leaderAddressOf(error: CorralError): string | undefined {
  if (error.code !== 'CONNECTIONLOSS') return undefined;
  return /the leader is member \d+ at (\S+)$/.exec(error.message)?.[1];
}

/** Sends one change, following "not the leader" answers to the leader. */
async function change(ctx: Context, path: string, method: 'POST' | 'DELETE', body: unknown): Promise<void> {
  let at = ctx;
  for (let hop = 0; ; hop++) {
    const init: RequestInit = body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } };
    const response = await at.client.raw(path, init);
    if (response.ok) {
      const result = (await response.json()) as MembershipChange;
      if (ctx.out.json) return ctx.out.data(result);
      ctx.out.line(`committed at index ${result.index} (zxid ${result.zxid})`);
      return printMembers(ctx, result);
    }
    const error = await failure(response);
    const leader = leaderAddressOf(error);
    if (leader === undefined || hop >= LEADER_HOPS_MAX || ctx.reroute === undefined) throw error;
    at = ctx.reroute(`http://${leader}`);
  }
}

export interface NewMemberArgs {
  readonly client: string;
  readonly peer: string;
  readonly promote?: boolean | undefined;
  readonly waitMs: number;
}

function memberId(raw: string): number {
  const id = parseMemberId(raw);
  if (id === undefined) throw new UsageError(`a member id is a positive integer, got ${JSON.stringify(raw)}`);
  return id;
}

export function membersAdd(ctx: Context, id: string, args: NewMemberArgs): Promise<void> {
  return change(ctx, '/v1/cluster/members', 'POST', {
    id: memberId(id), client: args.client, peer: args.peer, promote: args.promote ?? true, timeoutMs: args.waitMs,
  });
}

export function membersPromote(ctx: Context, id: string, waitMs: number): Promise<void> {
  return change(ctx, `/v1/cluster/members/${memberId(id)}/promote`, 'POST', { timeoutMs: waitMs });
}

export function membersRemove(ctx: Context, id: string): Promise<void> {
  return change(ctx, `/v1/cluster/members/${memberId(id)}`, 'DELETE', undefined);
}

export function membersReplace(ctx: Context, old: string, id: string, args: NewMemberArgs): Promise<void> {
  return change(ctx, `/v1/cluster/members/${memberId(old)}/replace`, 'POST', {
    id: memberId(id), client: args.client, peer: args.peer, timeoutMs: args.waitMs,
  });
}

export async function leaderTransfer(ctx: Context, to: string | undefined): Promise<void> {
  const body = to === undefined ? {} : { to: memberId(to) };
  const response = await ctx.client.raw('/v1/cluster/leader', { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
  if (!response.ok) throw await failure(response);
  const result = (await response.json()) as { leader: number; previous: number };
  if (ctx.out.json) return ctx.out.data(result);
  ctx.out.line(`leader ${result.leader} (was ${result.previous})`);
}

/**
 * `corral-cli members …` and `corral-cli leader transfer` driven as an operator drives them: the
 * real command (`node src/cli/bin.mjs …`) spawned against a real 3-member cluster on 127.0.0.1
 * (the CLI on loopback is an operator on an open node), its output and exit code checked. A
 * change asked of a follower is followed to the leader the answer names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, type CliRun } from '../support/cli-run.ts';
import { CorralCluster } from '../support/corral-cluster.ts';
import { http, waitFor } from '../support/corral-process.ts';

const RUN_TIMEOUT_MS = 60_000;

/** Runs the CLI once against `server`, killed if it outlives its bound. */
const cli = (server: string, ...args: string[]): Promise<CliRun> => spawnCli(['--server', server, ...args], RUN_TIMEOUT_MS).done;

let cluster: CorralCluster;

beforeAll(async () => {
  cluster = await CorralCluster.start({ size: 3 });
}, 120_000);
afterAll(async () => {
  await cluster?.close();
}, 60_000);

describe('corral-cli members and leader', { timeout: 120_000 }, () => {
  it('lists the members with their roles, as text and as JSON', async () => {
    const text = await cli(cluster.url(1), 'members', 'list');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/voters 1,2,3; learners none; leader \d/);
    expect(text.stdout).toMatch(/ID\s+ROLE\s+LEADER\s+CLIENT\s+PEER\s+LAG\s+ACTIVE/);
    const json = await cli(cluster.url(2), '--json', 'members', 'list');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ voters: [1, 2, 3], learners: [] });
  });

  it('refuses a malformed member with exit 1 and the code, and a promotion of a voter', async () => {
    const bad = await cli(cluster.url(1), 'members', 'add', '9', '--client', 'nowhere', '--peer', '127.0.0.1:1');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^Error: BADARGUMENTS \(-8\): "client" must be host:port/);
    const voter = await cli(cluster.url(1), 'members', 'promote', '2');
    expect(voter.code).toBe(1);
    expect(voter.stderr).toMatch(/BADARGUMENTS \(-8\): member 2 already votes/);
    const usage = await cli(cluster.url(1), 'members', 'remove', 'two');
    expect(usage.code).toBe(2);
    const known = await cli(cluster.url(1), 'members', 'add', '1', '--client', '127.0.0.1:1', '--peer', '127.0.0.1:2');
    expect(known.code).toBe(1);
    expect(known.stderr).toMatch(/NODEEXISTS \(-110\): member 1 is already in the cluster/);
  });

  it('hands leadership over on request', async () => {
    const leader = await cluster.leader();
    const to = leader === 1 ? 2 : 1;
    const moved = await cli(cluster.url(3), 'leader', 'transfer', '--to', String(to));
    expect(moved.code).toBe(0);
    expect(moved.stdout).toBe(`leader ${to} (was ${leader})\n`);
  });

  it('refuses a removal that would lose the quorum, and removes a dead member through a follower, following it to the leader', async () => {
    const before = await cluster.leader();
    const dead = [1, 2, 3].find((id) => id !== before)!;
    await cluster.kill(dead);
    // Asked before the leader sees the dead member inactive (it counts a voter heard from within an
    // election timeout), the removal would be granted and leave the leader with a dead voter: no quorum.
    // The leader is asked afresh each time: on a loaded machine leadership may move after the kill.
    const leader = await waitFor(async () => {
      const current = await cluster.leader();
      const members = (await http('GET', `${cluster.url(current)}/v1/cluster/members`)).body as { members: Array<{ id: number; active: boolean | null }> };
      return members.members.find((m) => m.id === dead)?.active === false ? current : undefined;
    }, { timeoutMs: 30_000, what: 'the leader to see the dead member inactive' });
    const alive = [1, 2, 3].find((id) => id !== leader && id !== dead)!;
    // Removing the live follower would leave the leader and a dead member: one active of a quorum of two.
    const refused = await cli(cluster.url(leader), 'members', 'remove', String(alive));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`NEWCONFIGNOQUORUM \\(-13\\): removing ${alive} would leave 1 recently active voter`));
    const removed = await cli(cluster.url(alive), 'members', 'remove', String(dead));
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/committed at index \d+/);
    expect(removed.stdout).toMatch(new RegExp(`voters (${leader},${alive}|${alive},${leader}); learners none`));
  });
});

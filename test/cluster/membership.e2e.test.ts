/**
 * Membership changes with real processes, under a write load (the linearizability workload of
 * workload.ts): three founders; a fourth and a fifth member started empty as learners
 * (`--role observer`, `--members` the cluster plus themselves) and added through the admin API
 * (learner, then promoted once caught up — by checkpoint and log: checkpoints are taken every
 * few hundred entries; the fifth given only its own entry and `--join`); one founder removed; one SIGKILLed and replaced by a new member.
 * After each change the members converge; at the end: every member's tree under the run's root
 * is the same, and the recorded history (acknowledged writes included) is linearizable.
 * Bounded everywhere; only 127.0.0.1; no proxies (the peer links are direct).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from '../support/corral-cluster.ts';
import { CorralProcess, freePort, makeTempDir, readTree, removeDir, waitFor } from '../support/corral-process.ts';
import { checkHistory } from './checks.ts';
import { Workload } from './workload.ts';

const HOST = '127.0.0.1';
const SECRET = randomBytes(24).toString('base64url');
const START_TIMEOUT_MS = 30_000;
const CHANGE_TIMEOUT_MS = 60_000;
const CONVERGE_TIMEOUT_MS = 30_000;
const PROGRESS_TIMEOUT_MS = 45_000;
const TEST_TIMEOUT_MS = 300_000;

interface Node {
  readonly id: number;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  proc?: CorralProcess;
}

const nodes = new Map<number, Node>();

async function allocate(id: number): Promise<Node> {
  const node: Node = { id, clientPort: await freePort(), peerPort: await freePort(), dataDir: makeTempDir(`corral-membership-n${id}-`) };
  nodes.set(id, node);
  return node;
}

const url = (id: number) => `http://${HOST}:${nodes.get(id)!.clientPort}`;
const entry = (n: Node, learner: boolean) => `${n.id}=${HOST}:${n.clientPort}/${HOST}:${n.peerPort}${learner ? '/observer' : ''}`;

/** Starts member `id`; `members` lists the cluster as it should know it at start (itself included), or only itself with `--join`. */
function start(node: Node, members: string[], learner: boolean, extra: string[] = []): CorralProcess {
  node.proc = new CorralProcess(node.dataDir, node.clientPort, [
    '--id', String(node.id), '--role', learner ? 'observer' : 'participant', '--members', members.join(','), ...extra,
    `--cluster-secret=${SECRET}`, '--raft-tick-ms', '50', '--checkpoint-every-entries', '300', '--log-level', 'info',
  ]);
  return node.proc;
}

async function json(method: string, target: string, body?: object, timeoutMs = CHANGE_TIMEOUT_MS + 5000) {
  return request(method, target, { ...(body ? { body } : {}), timeoutMs });
}

/** The leader's id, as the live members agree on it. */
async function leaderOf(live: readonly number[]): Promise<number> {
  return waitFor(async () => {
    const views = await Promise.all(live.map((id) => json('GET', `${url(id)}/v1/cluster`, undefined, 2000)));
    const leaders = views.map((v) => (v.kind === 'reply' && v.status === 200 ? v.body.leader : null));
    return leaders.every((l) => l !== null && l === leaders[0]) ? (leaders[0] as number) : undefined;
  }, { timeoutMs: CONVERGE_TIMEOUT_MS, what: `members ${live.join(',')} to agree on a leader` });
}

/** An admin call on the leader, retried while the leader moves or another change is under way. */
async function onLeader(live: readonly number[], method: string, path: string, body?: object): Promise<any> {
  let last = '';
  return waitFor(async () => {
    const leader = await leaderOf(live);
    const reply = await json(method, `${url(leader)}${path}`, body);
    if (reply.kind === 'reply' && reply.status === 200) return reply.body;
    last = JSON.stringify(reply);
    if (reply.kind === 'reply' && reply.status !== 503) throw new Error(`${method} ${path}: ${last}`);
    return undefined;
  }, { timeoutMs: CHANGE_TIMEOUT_MS, what: `${method} ${path} on the leader (last ${last})` });
}

/** Every live member names the same leader and has committed and applied the same log. */
async function converge(live: readonly number[]): Promise<string> {
  return waitFor(async () => {
    const views = await Promise.all(live.map((id) => json('GET', `${url(id)}/v1/cluster`, undefined, 2000)));
    if (!views.every((v) => v.kind === 'reply' && v.status === 200)) return undefined;
    const bodies = views.map((v) => (v.kind === 'reply' ? v.body : undefined));
    const first = bodies[0];
    const same = bodies.every((b) => b.leader === first.leader && b.commitZxid === first.commitZxid && b.lastZxid === first.lastZxid);
    if (!same || first.leader === null || first.lastZxid !== first.commitZxid) return undefined;
    const ready = await Promise.all(live.map((id) => json('GET', `${url(id)}/readyz`, undefined, 2000)));
    return ready.every((r) => r.kind === 'reply' && r.status === 200) ? (first.commitZxid as string) : undefined;
  }, { timeoutMs: CONVERGE_TIMEOUT_MS, what: `members ${live.join(',')} to converge` });
}

/**
 * Starts a new member empty, as a learner: given the members (as the leader lists them), or with
 * only its own entry and `--join` through a running member.
 */
async function join(id: number, live: readonly number[], via?: number): Promise<Node> {
  const node = await allocate(id);
  if (via !== undefined) {
    await start(node, [entry(node, true)], true, ['--join', `${HOST}:${nodes.get(via)!.clientPort}`]).waitHealthy(START_TIMEOUT_MS);
    return node;
  }
  const view = await onLeader(live, 'GET', '/v1/cluster/members');
  const members = (view.members as Array<{ id: number; client: string; peer: string; role: string }>).map((m) =>
    `${m.id}=${m.client}/${m.peer}${m.role === 'learner' ? '/observer' : ''}`);
  await start(node, [...members, entry(node, true)], true).waitHealthy(START_TIMEOUT_MS);
  return node;
}

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.proc?.kill().catch(() => undefined)));
  for (const n of nodes.values()) removeDir(n.dataDir);
}, 60_000);

describe('membership changes with real processes', () => {
  it('grows 3 → 5 under load, removes one, replaces a killed one: nothing acknowledged lost, trees equal, history linearizable', { timeout: TEST_TIMEOUT_MS }, async () => {
    const founders = await Promise.all([1, 2, 3].map((id) => allocate(id)));
    const list = founders.map((n) => entry(n, false));
    for (const n of founders) start(n, list, false);
    await Promise.all(founders.map((n) => n.proc!.waitHealthy(START_TIMEOUT_MS)));
    let live = [1, 2, 3];
    await leaderOf(live);
    const root = '/lin-members';
    await onLeaderWrite(live, root);
    const workload = new Workload({ urls: [1, 2, 3].map(url), root, seed: 7, clients: 4, keys: 4, requestTimeoutMs: 3000, maxDurationMs: 200_000 });
    try {
      await workload.waitForAcks(200, PROGRESS_TIMEOUT_MS);
      // A new member must need the leader's checkpoint: wait until every founder has taken one
      // (a count of acknowledged writes alone says nothing of the log's length on a slow runner).
      await waitFor(() => founders.every((n) => n.proc!.stdout.includes('"event":"checkpoint"')) || undefined,
        { timeoutMs: PROGRESS_TIMEOUT_MS, what: 'every founder to take a checkpoint' });

      // Grow: 4 and 5 join as learners (catching up by checkpoint and log), then vote; 5 with --join.
      for (const id of [4, 5]) {
        const node = await join(id, live, id === 5 ? 2 : undefined);
        const added = await onLeader(live, 'POST', '/v1/cluster/members', { id, client: `${HOST}:${node.clientPort}`, peer: `${HOST}:${node.peerPort}`, promote: true, timeoutMs: CHANGE_TIMEOUT_MS });
        expect(added.voters).toContain(id);
        // The leader's log starts after a checkpoint by now: the new member caught up from it (its
        // log line may still be in the pipe on a loaded runner: waited for, bounded).
        await waitFor(() => node.proc!.stdout.includes('"event":"checkpoint-installed"') || undefined,
          { timeoutMs: 10_000, what: `member ${id} to say it installed the leader's checkpoint` });
        live = [...live, id];
        await workload.waitForAcks(100, PROGRESS_TIMEOUT_MS);
        await converge(live);
      }

      // Shrink: remove founder 2 (maybe the leader itself), then stop its process.
      const removed = await onLeader(live, 'DELETE', '/v1/cluster/members/2');
      expect(removed.voters).not.toContain(2);
      live = live.filter((id) => id !== 2);
      await workload.waitForAcks(100, PROGRESS_TIMEOUT_MS);
      await nodes.get(2)!.proc!.kill();

      // Replace: SIGKILL founder 3, start 6 empty, replace 3 by 6.
      await nodes.get(3)!.proc!.kill();
      live = live.filter((id) => id !== 3);
      await workload.waitForAcks(50, PROGRESS_TIMEOUT_MS);
      const six = await join(6, live);
      const replaced = await onLeader(live, 'POST', '/v1/cluster/members/3/replace', { id: 6, client: `${HOST}:${six.clientPort}`, peer: `${HOST}:${six.peerPort}`, timeoutMs: CHANGE_TIMEOUT_MS });
      expect(replaced.voters.sort()).toEqual([1, 4, 5, 6]);
      live = [...live, 6];
      await workload.waitForAcks(100, PROGRESS_TIMEOUT_MS);
    } finally {
      await workload.stop();
    }
    await converge(live);
    const trees = await Promise.all(live.map(async (id) => [...(await readTree(url(id)))].filter(([path]) => path.startsWith(root))));
    for (const tree of trees.slice(1)) expect(JSON.stringify(tree)).toBe(JSON.stringify(trees[0]));
    for (const id of live) await workload.finalReads(url(id), id);
    expect(workload.stats.acked).toBeGreaterThan(500);
    expect(checkHistory(workload.history)).toEqual([]);
  });
});

/** Creates the run's root (retried while the cluster elects). */
async function onLeaderWrite(live: readonly number[], root: string): Promise<void> {
  await waitFor(async () => {
    const leader = await leaderOf(live);
    const reply = await json('POST', `${url(leader)}/v1/znodes${root}`, undefined, 3000);
    return reply.kind === 'reply' && (reply.status === 201 || reply.body?.code === 'NODEEXISTS') ? true : undefined;
  }, { timeoutMs: CONVERGE_TIMEOUT_MS, what: `${root} created` });
}

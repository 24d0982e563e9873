/**
 * Leadership transfer with real processes (3 voters at the default 100 ms consensus tick, where
 * an election takes 1–2 s): a leader stopped with SIGTERM hands leadership to its most caught-up
 * voter before it exits, under a write load from the typed client (its failover retries 503s and
 * unreachable members, with request ids so a retry is applied once). Checked: no acknowledged
 * write lost (each is on every member afterwards), no request failed beyond the client's own
 * retry, and the time without a leader, measured as the longest stretch without an acknowledged
 * write, printed (BENCHMARKS.md records it) next to the same measure for a SIGKILLed leader
 * (an election). Then a rolling restart of all three members under load, with the same checks,
 * and the operator's call (POST /v1/cluster/leader). Every wait is bounded; only 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralClient } from '../../src/client/index.ts';
import { CorralCluster, request } from '../support/corral-cluster.ts';
import { waitFor } from '../support/corral-process.ts';

const WRITERS = 4;
/** Writes one writer sends at most (a bound, never reached in these tests' few seconds). */
const WRITES_PER_WRITER_MAX = 20_000;
const PROGRESS_TIMEOUT_MS = 20_000;
const TEST_TIMEOUT_MS = 180_000;

let cluster: CorralCluster;

beforeAll(async () => {
  cluster = await CorralCluster.start({ size: 3, raftTickMs: 100 });
}, 180_000);
afterAll(async () => {
  await cluster?.close();
}, 60_000);

/** Writers creating unique znodes through the typed client until stopped; every outcome recorded. */
class WriteLoad {
  readonly acked: Array<{ path: string; atMs: number }> = [];
  readonly failed: string[] = [];
  private running = true;
  private readonly loops: Array<Promise<void>>;

  constructor(c: CorralCluster, readonly prefix: string) {
    this.loops = Array.from({ length: WRITERS }, (_, w) => {
      // Each writer starts at another member; the client fails over from there.
      const urls = c.urls.map((_, i) => c.urls[(i + w) % c.urls.length]!);
      return this.loop(new CorralClient({ urls, retryForMs: 15_000 }), w);
    });
  }

  private async loop(client: CorralClient, w: number): Promise<void> {
    for (let n = 0; this.running && n < WRITES_PER_WRITER_MAX; n++) {
      const path = `${this.prefix}-w${w}-${n}`;
      try {
        await client.create(path, 'x');
        this.acked.push({ path, atMs: performance.now() });
      } catch (error) {
        this.failed.push(`${path}: ${(error as Error).message}`);
      }
    }
  }

  async waitForAcks(more: number, what: string): Promise<void> {
    const target = this.acked.length + more;
    await waitFor(() => this.acked.length >= target || undefined, { timeoutMs: PROGRESS_TIMEOUT_MS, what: `${more} acknowledged writes ${what}` });
  }

  /** The longest stretch without an acknowledged write after `fromMs` (ms). */
  longestGapAfter(fromMs: number): number {
    const times = this.acked.map((a) => a.atMs).filter((t) => t >= fromMs).sort((a, b) => a - b);
    let gap = times.length > 0 ? times[0]! - fromMs : Infinity;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
    return gap;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/** Every acknowledged write is on every live member (read after the last one's zxid). */
async function expectAllOnEveryMember(c: CorralCluster, load: WriteLoad): Promise<void> {
  for (const id of c.liveIds) {
    const client = new CorralClient({ baseUrl: c.url(id) });
    await client.create(`/sync-${load.prefix.slice(1)}-${id}`, ''); // forwarded to the leader: this member applied everything before it
    const missing: string[] = [];
    for (const { path } of load.acked) {
      const reply = await request('GET', `${c.url(id)}/v1/stat${path}`, { headers: { 'zk-min-zxid': String(client.lastZxid) }, timeoutMs: 10_000 });
      if (reply.kind !== 'reply' || reply.status !== 200) missing.push(path);
    }
    expect(missing, `acknowledged writes missing on member ${id}`).toEqual([]);
  }
}

function handoffsLogged(c: CorralCluster, id: number): string[] {
  return c.output(id).split('\n').filter((line) => line.includes('"event":"leader-handoff"'));
}

/**
 * Runs `during` under a write load, then stops the load and checks: no request failed beyond the
 * client's retry, every acknowledged write is on every member.
 */
async function underLoad(prefix: string, during: (load: WriteLoad) => Promise<void>): Promise<void> {
  const load = new WriteLoad(cluster, prefix);
  try {
    await load.waitForAcks(50, 'before the fault');
    await during(load);
  } finally {
    await load.stop();
  }
  expect(load.failed).toEqual([]);
  await expectAllOnEveryMember(cluster, load);
}

/** Stops the leader with `stop`, waits for writes to go on and restarts it; returns the stretch without acks. */
async function replaceLeader(load: WriteLoad, stop: (id: number) => Promise<void>): Promise<{ old: number; gapMs: number }> {
  const old = await cluster.leader();
  const stoppedAt = performance.now();
  await stop(old);
  await load.waitForAcks(50, `after member ${old} stopped`);
  const gapMs = load.longestGapAfter(stoppedAt);
  await cluster.restart(old);
  await load.waitForAcks(20, `after member ${old} restarted`);
  return { old, gapMs };
}

describe('leadership transfer (3 voters)', () => {
  it('hands leadership over on SIGTERM under load: nothing acknowledged lost, nothing failed, a short gap', async () => {
    await underLoad('/term', async (load) => {
      const { old, gapMs } = await replaceLeader(load, (id) => cluster.terminate(id));
      expect(handoffsLogged(cluster, old), cluster.logs(10)).toHaveLength(1);
      console.log(`SIGTERM of leader ${old}: longest stretch without an acknowledged write ${gapMs.toFixed(0)} ms`);
    });
  }, TEST_TIMEOUT_MS);

  it('for comparison: a SIGKILLed leader costs an election (the same load and checks)', async () => {
    await underLoad('/kill', async (load) => {
      const { old, gapMs } = await replaceLeader(load, (id) => cluster.kill(id));
      console.log(`SIGKILL of leader ${old}: longest stretch without an acknowledged write ${gapMs.toFixed(0)} ms`);
    });
  }, TEST_TIMEOUT_MS);

  it('survives a rolling restart of every member (SIGTERM, restart) under load: nothing lost, nothing failed', async () => {
    const gaps: string[] = [];
    await underLoad('/roll', async (load) => {
      // Followers first, the leader last: the usual order of a rolling upgrade.
      const leader = await cluster.leader();
      for (const id of [...cluster.ids.filter((x) => x !== leader), leader]) {
        const stoppedAt = performance.now();
        await cluster.terminate(id);
        await load.waitForAcks(20, `with member ${id} stopped`);
        await cluster.restart(id);
        await load.waitForAcks(20, `after member ${id} restarted`);
        gaps.push(`member ${id}: ${load.longestGapAfter(stoppedAt).toFixed(0)} ms`);
      }
    });
    console.log(`rolling restart, longest stretch without an acknowledged write per member: ${gaps.join(', ')}`);
  }, TEST_TIMEOUT_MS);

  it('moves leadership on an operator\'s call to a named voter, and to the most caught-up one', async () => {
    const leader = await cluster.leader();
    const to = cluster.ids.find((id) => id !== leader)!;
    const asked = await request('POST', `${cluster.url(leader)}/v1/cluster/leader`, { body: { to }, timeoutMs: 10_000 });
    expect(asked.kind === 'reply' && asked.status, JSON.stringify(asked)).toBe(200);
    expect((asked as { body: any }).body).toEqual({ leader: to, previous: leader });
    expect(await cluster.leader()).toBe(to);
    // Asked of a follower, with no target: forwarded to the leader, which picks.
    const follower = cluster.ids.find((id) => id !== to)!;
    const any = await request('POST', `${cluster.url(follower)}/v1/cluster/leader`, { body: {}, timeoutMs: 10_000 });
    expect(any.kind === 'reply' && any.status, JSON.stringify(any)).toBe(200);
    expect((any as { body: any }).body.previous).toBe(to);
    expect((any as { body: any }).body.leader).not.toBe(to);
  }, TEST_TIMEOUT_MS);
});

/**
 * The consumer-group example (examples/consumer-group/) run as a user runs it — `main.ts
 * --workers 3`, three worker processes against a live node — in a bounded form (--duration-ms):
 * the coordinator worker is SIGKILLed; its partitions must move to the survivors once its
 * session expires, every partition must end up owned by exactly one live worker, and no
 * partition's committed offset may ever go backwards (the version-checked commits fence off
 * a worker that lost a partition).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.ts';
import { http, REPO_ROOT, waitFor } from '../support/corral-process.ts';

const PARTITIONS = 6;
const GROUP = 'e2e';
const SESSION_TIMEOUT_MS = 2000;
/** Generous: only a hang reaches these (the machine is shared). */
const STARTUP_MS = 60_000;
const REBALANCE_MS = 30_000;
const EXIT_MS = 30_000;
const POLL_MS = 100;

interface GroupEvent {
  readonly timeMs: number;
  readonly worker: string;
  readonly event: string;
  readonly [field: string]: unknown;
}

let server: RunningServer;
let dir: string;
let launcher: ChildProcess | undefined;
const events: GroupEvent[] = [];
const workerPids = new Map<string, number>();
/** The worker the test killed: its last 'owned' report is stale, not a second owner. */
let killed = '';
let watcher: OffsetWatcher | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-consumer-group-'));
  // tickTime 200 ms: sessions of 2 s are allowed ([2, 20] ticks), so a killed worker expires quickly.
  server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1', tickTimeMs: 200 });
});

afterAll(async () => {
  await watcher?.stop();
  launcher?.kill('SIGKILL');
  for (const pid of workerPids.values()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function startLauncher(): ChildProcess {
  const args = ['--import', 'tsx', 'examples/consumer-group/main.ts', '--server', server.url, '--workers', '3', '--group', GROUP,
    '--partitions', String(PARTITIONS), '--batch-size', '2', '--interval-ms', '200', '--session-timeout-ms', String(SESSION_TIMEOUT_MS),
    '--duration-ms', '170000', '--json'];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as GroupEvent;
    events.push(event);
    if (event.event === 'spawned') workerPids.set(String(event.id), Number(event.pid));
  });
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return child;
}

async function readJson(path: string): Promise<any> {
  const reply = await http('GET', `${server.url}/v1/znodes/consumer-groups/${GROUP}/${path}`);
  return reply.status === 200 ? JSON.parse(reply.body.data as string) : undefined;
}

async function offsetsNow(): Promise<Array<{ offset: number; owner: string } | undefined>> {
  return Promise.all(Array.from({ length: PARTITIONS }, (_, p) => readJson(`offsets/${p}`)));
}

/** Reads every offset node until stopped; records each time one is seen lower than before. */
class OffsetWatcher {
  readonly regressions: string[] = [];
  readonly highest = new Array<number>(PARTITIONS).fill(0);
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor() {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    for (let round = 0; !this.stopped && round < 100_000; round++) {
      const records = await offsetsNow().catch(() => []); // a failed read proves nothing either way: read again
      records.forEach((record, p) => {
        if (!record) return;
        if (record.offset < this.highest[p]!) this.regressions.push(`p${p}: ${record.offset} after ${this.highest[p]}`);
        this.highest[p] = Math.max(this.highest[p]!, record.offset);
      });
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** Each worker's partitions as it last reported them ('owned' events). */
function ownedNow(): Map<string, number[]> {
  const owned = new Map<string, number[]>();
  for (const event of events) if (event.event === 'owned') owned.set(event.worker, event.partitions as number[]);
  return owned;
}

/**
 * True when `workers` (and only they, each with at least one) hold every partition, each exactly
 * once, in their own view and in the znodes.
 */
async function ownedExactlyOnceBy(workers: readonly string[]): Promise<boolean> {
  const owned = ownedNow();
  if (workers.some((worker) => (owned.get(worker) ?? []).length === 0)) return false;
  const held = workers.flatMap((worker) => owned.get(worker) ?? []).sort((a, b) => a - b);
  if (held.join() !== Array.from({ length: PARTITIONS }, (_, p) => p).join()) return false;
  if ([...owned.entries()].some(([worker, partitions]) => !workers.includes(worker) && partitions.length > 0 && worker !== killed)) return false;
  const assignment = await readJson('assignment');
  const offsets = await offsetsNow();
  return (assignment?.owners as string[] | undefined)?.every((owner, p) => workers.includes(owner) && offsets[p]?.owner === owner && (owned.get(owner) ?? []).includes(p)) ?? false;
}

describe('examples/consumer-group', () => {
  it('moves a SIGKILLed coordinator\'s partitions to the survivors, each owned once, offsets never going back', async () => {
    launcher = startLauncher();
    watcher = new OffsetWatcher();
    const all = ['w1', 'w2', 'w3'];
    await waitFor(() => ownedExactlyOnceBy(all), { timeoutMs: STARTUP_MS, what: 'three workers holding all partitions' });

    const coordinator = [...events].reverse().find((event) => event.event === 'leader')!.worker;
    killed = coordinator;
    const survivors = all.filter((worker) => worker !== killed);
    const taken = ownedNow().get(killed)!;
    expect(taken.length).toBeGreaterThan(0);
    await waitFor(async () => (await offsetsNow()).every((record) => (record?.offset ?? 0) > 0), { timeoutMs: STARTUP_MS, what: 'a commit on every partition' });
    const atKill = (await offsetsNow()).map((record) => record!.offset);
    const killedAtMs = Date.now();
    process.kill(workerPids.get(killed)!, 'SIGKILL');

    await waitFor(() => ownedExactlyOnceBy(survivors), { timeoutMs: REBALANCE_MS, what: `${killed}'s partitions ${taken} to move to ${survivors}` });
    // The survivors consume them: offsets move on from where the dead worker committed.
    await waitFor(async () => (await offsetsNow()).every((record, p) => record!.offset > atKill[p]!), { timeoutMs: REBALANCE_MS, what: 'progress on every partition' });
    expect(events.some((event) => event.event === 'leader' && survivors.includes(event.worker))).toBe(true);
    const handovers = events.filter((event) => event.event === 'claimed' && event.previousOwner === killed && event.timeMs >= killedAtMs);
    expect(handovers.map((event) => event.partition).sort()).toEqual(expect.arrayContaining(taken));
    for (const event of handovers) expect(event.offset as number).toBeGreaterThanOrEqual(atKill[event.partition as number]!);
    const assignment = await readJson('assignment');
    expect(new Set(assignment.owners)).toEqual(new Set(survivors));

    launcher.kill('SIGTERM');
    const exit = await waitFor(() => launcher!.exitCode !== null && { code: launcher!.exitCode }, { timeoutMs: EXIT_MS, what: 'the launcher to exit' });
    expect(exit.code).toBe(0);
    await watcher.stop();
    expect(survivors.every((worker) => events.some((event) => event.worker === worker && event.event === 'stopped'))).toBe(true);

    expect(watcher.regressions).toEqual([]);
    // Across every worker's commits, a partition's offset only grows with the node's version.
    for (let p = 0; p < PARTITIONS; p++) {
      const commits = events.filter((event) => event.event === 'commit' && event.partition === p).sort((a, b) => (a.version as number) - (b.version as number));
      commits.slice(1).forEach((commit, i) => expect(commit.offset as number).toBeGreaterThan(commits[i]!.offset as number));
    }
  }, 180_000);
});

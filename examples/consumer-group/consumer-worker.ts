/**
 * One worker of the group. It holds a session, and through it:
 *  - a registration (ServiceDiscovery: an ephemeral instance node, gone when the session ends);
 *  - a place in the coordinator election (LeaderLatch); while it leads, it runs the Coordinator;
 *  - NodeCaches of the config and the assignment (kept current by the watch stream).
 * One loop owns all of the worker's state (no two steps ever run at once): each turn it lets the
 * coordinator act (when leading), follows the assignment (claims what it was given, drops what it
 * was not), then consumes one batch per owned partition and commits it (offsets.ts: the fencing).
 * A cache change wakes the loop early, so a rebalance does not wait for the next interval.
 */
import { hostname } from 'node:os';
import { CorralSession, LeaderLatch, NodeCache, ServiceDiscovery, type CorralClient, type ServiceCache } from '../../src/client/index.ts';
import { parseAssignment, parseConfig, partitionsOf, type GroupConfig } from './assignment.ts';
import { Coordinator } from './coordinator.ts';
import { ensurePath, GroupPaths, SERVICE_NAME, type GroupOptions, type Reporter } from './group.ts';
import { claim, commit, type OwnedPartition } from './offsets.ts';
import { Wakeup } from './wakeup.ts';

/** Loop turns at most (a bound, not a plan: at 10 ms a turn this is over a day). */
const TURNS_MAX = 10_000_000;
/** Each shutdown step gets this long (the server may be gone). */
const CLOSE_STEP_MS = 3000;

export type StopReason = 'stopped' | 'session-lost';

export class ConsumerWorker {
  private readonly paths: GroupPaths;
  private readonly owned = new Map<number, OwnedPartition>();
  private readonly wakeup = new Wakeup();
  private session: CorralSession | undefined;
  private discovery: ServiceDiscovery | undefined;
  private latch: LeaderLatch | undefined;
  private coordinator: Coordinator | undefined;
  private membersCache: ServiceCache | undefined;
  private readonly caches: Array<{ close(): Promise<void> }> = [];
  private configCache: NodeCache | undefined;
  private assignmentCache: NodeCache | undefined;
  private config: GroupConfig;
  private lastProcessedMs = 0;

  constructor(private readonly client: CorralClient, private readonly options: GroupOptions, readonly id: string, private readonly report: Reporter) {
    this.paths = new GroupPaths(options.group);
    this.config = { partitions: options.partitions, batchSize: options.batchSize };
  }

  /** Joins the group; answers once registered, following the config and assignment, and in the election. */
  async start(): Promise<void> {
    await ensurePath(this.client, this.paths.config, JSON.stringify(this.config)); // kept as is when it exists
    await ensurePath(this.client, this.paths.offsets);
    this.session = await CorralSession.open(this.client, this.options.sessionTimeoutMs);
    this.configCache = this.follow(new NodeCache(this.client, this.paths.config));
    this.assignmentCache = this.follow(new NodeCache(this.client, this.paths.assignment));
    await Promise.all([this.configCache.start(), this.assignmentCache.start()]);
    this.discovery = new ServiceDiscovery(this.session, this.paths.members);
    this.discovery.lost.addEventListener('abort', () => this.wakeup.notify(), { once: true });
    await this.discovery.register({ name: SERVICE_NAME, id: this.id, address: hostname(), port: 0, payload: { pid: process.pid } });
    this.latch = new LeaderLatch(this.session, this.paths.leader, this.id);
    this.latch.onChange(() => this.wakeup.notify());
    await this.latch.start();
    this.report.event('joined', { session: this.session.id, pid: process.pid }, `joined group ${this.options.group} (session ${this.session.id}, pid ${process.pid})`);
  }

  /** Runs until `signal` aborts or the session is lost; answers why it stopped. */
  async run(signal: AbortSignal): Promise<StopReason> {
    signal.addEventListener('abort', () => this.wakeup.notify(), { once: true });
    for (let turn = 0; turn < TURNS_MAX && !signal.aborted; turn++) {
      if (this.discovery?.lost.aborted) return this.sessionLost();
      try {
        await this.turn();
      } catch (error) {
        // A request failed after the client's failover gave up: keep what we hold, try next turn.
        this.report.event('error', { message: String(error) }, `step failed, retrying: ${String(error)}`);
      }
      const dueInMs = this.lastProcessedMs + this.options.intervalMs - Date.now();
      if (dueInMs > 0) await this.wakeup.wait(dueInMs);
    }
    return 'stopped';
  }

  /** Leaves the group: partitions, leadership and registration go now, not at session expiry. */
  async close(): Promise<void> {
    this.setOwned([...this.owned.keys()], 'released', 'shutting down');
    const steps: Array<() => Promise<unknown> | undefined> = [
      () => this.latch?.close(), () => this.discovery?.close(), () => this.membersCache?.close(),
      ...this.caches.map((cache) => () => cache.close()),
      () => (this.session?.ended ? undefined : this.session?.close()),
    ];
    for (const step of steps) await withinMs(step(), CLOSE_STEP_MS).catch(() => undefined); // best effort: expiry cleans up the rest
    this.report.event('stopped', {}, 'left the group');
  }

  private async turn(): Promise<void> {
    this.config = parseConfig(this.configCache?.text() ?? '') ?? this.config;
    await this.coordinate();
    await this.followAssignment();
    if (Date.now() - this.lastProcessedMs >= this.options.intervalMs) {
      this.lastProcessedMs = Date.now();
      for (const owned of [...this.owned.values()]) await this.consume(owned);
    }
  }

  /** Starts or stops coordinating as leadership comes and goes; lets the coordinator act. */
  private async coordinate(): Promise<void> {
    const epoch = this.latch?.epoch;
    if (epoch !== this.coordinator?.epoch) {
      this.coordinator = undefined;
      await this.membersCache?.close();
      this.membersCache = undefined;
      if (epoch !== undefined) {
        this.membersCache = this.discovery!.serviceCache(SERVICE_NAME);
        this.membersCache.onChange(() => this.wakeup.notify());
        await this.membersCache.start();
        this.coordinator = new Coordinator(this.client, this.paths, this.membersCache, this.id, epoch, this.report);
        this.report.event('leader', { epoch }, `elected coordinator (epoch ${epoch})`);
      }
    }
    if (this.coordinator && (await this.coordinator.step(this.config)) === 'retry') this.wakeup.notify();
  }

  /** Claims the partitions the assignment gives this worker; drops the others. */
  private async followAssignment(): Promise<void> {
    const assignment = parseAssignment(this.assignmentCache?.text() ?? '');
    const mine = partitionsOf(assignment, this.id);
    this.setOwned([...this.owned.keys()].filter((partition) => !mine.includes(partition)), 'released', `not ours in generation ${assignment?.generation}`);
    for (const partition of mine) {
      if (this.owned.has(partition) || !assignment) continue;
      const outcome = await claim(this.client, this.paths.offset(partition), partition, this.id, assignment.generation);
      if (!outcome.ok) continue; // a newer assignment exists: its cache event is on the way
      this.owned.set(partition, outcome.owned);
      this.report.event('claimed', { partition, offset: outcome.owned.offset, generation: assignment.generation, previousOwner: outcome.previousOwner },
        `p${partition}: claimed at offset ${outcome.owned.offset} (generation ${assignment.generation}${outcome.previousOwner ? `, from ${outcome.previousOwner}` : ''})`);
      this.reportOwned();
    }
  }

  /** Processes one batch of a partition (records are synthetic: `p<partition>@<offset>`) and commits it. */
  private async consume(owned: OwnedPartition): Promise<void> {
    const from = owned.offset;
    const to = from + this.config.batchSize; // exclusive
    const committed = await commit(this.client, this.paths.offset(owned.partition), owned, this.id, to);
    if (!committed) {
      this.setOwned([owned.partition], 'fenced', 'someone else claimed it: the commit was refused');
      return;
    }
    this.report.event('commit', { partition: owned.partition, from, offset: to, version: owned.version },
      `p${owned.partition}: processed p${owned.partition}@${from}..${to - 1}, committed offset ${to}`);
  }

  /** Drops partitions from what this worker owns, saying why. */
  private setOwned(dropped: number[], event: 'released' | 'fenced', why: string): void {
    for (const partition of dropped) {
      if (!this.owned.delete(partition)) continue;
      this.report.event(event, { partition }, `p${partition}: ${event} (${why})`);
    }
    if (dropped.length > 0) this.reportOwned();
  }

  private reportOwned(): void {
    const partitions = [...this.owned.keys()].sort((a, b) => a - b);
    this.report.event('owned', { partitions }, `now consuming [${partitions.join(', ')}]`);
  }

  private sessionLost(): StopReason {
    this.coordinator = undefined;
    this.setOwned([...this.owned.keys()], 'released', 'session lost');
    this.report.event('session-lost', { state: this.session?.ended }, `session ${this.session?.ended ?? 'lost'}: stopping (restart to rejoin with a new session)`);
    return 'session-lost';
  }

  private follow<T extends { onChange(listener: () => void): unknown; close(): Promise<void> }>(cache: T): T {
    cache.onChange(() => this.wakeup.notify());
    this.caches.push(cache);
    return cache;
  }
}

function withinMs<T>(promise: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

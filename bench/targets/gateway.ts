/**
 * Corral gateways in front of ZooKeeper as a target (issue 20): one standalone ZooKeeper 3.8,
 * started as the `zookeeper` target starts it, and one (`gateway`) or two (`gateway-2`) Corral
 * processes with `--backend zookeeper://…` in front of it, run as the `corral` target runs Corral
 * (the bundle, the per-caller limits off). The load generator drives the gateways exactly as it
 * drives Corral — HTTP/1.1 keep-alive, requests round-robin over the gateways, session-less SSE
 * watchers spread over them — so its rows compare with the `zookeeper` target's (the same
 * ensemble driven directly) and tell what a gateway costs.
 *
 * Server CPU counts ZooKeeper's JVM and every gateway; rssBytes() lists the gateways first (the
 * watch-scale workload reads the first one's), then ZooKeeper.
 */
import { randomBytes } from 'node:crypto';
import { REPO_ROOT, CorralClient, corralEntry, spawnAll, sseWatcher, type Member } from './corral.ts';
import { HttpClient } from '../http-client.ts';
import { freePort, type ManagedProcess, startWithFreshPorts } from '../servers/managed-process.ts';
import { ZooKeeperEnsemble, zookeeperAvailability } from '../servers/zookeeper-server.ts';
import type { Availability, Deployment, EventListener, KvClient, StartOptions, Target, Watcher } from './target.ts';

/** ZooKeeper's own limit on one multi, as the zookeeper target uses. */
const OPS_PER_MULTI_MAX = 1000;

/** Each gateway's command line: `--backend` to the ensemble, the shared key in the environment. */
async function gatewayMembers(count: number, zkPorts: readonly number[], options: StartOptions): Promise<Member[]> {
  const backend = `zookeeper://${zkPorts.map((p) => `127.0.0.1:${p}`).join(',')}`;
  const key = randomBytes(24).toString('base64url');
  const cwd = options.corralRoot ?? REPO_ROOT;
  const entry = corralEntry(cwd);
  const nodeFlags = options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir] : [];
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  return ports.map((port) => ({
    baseUrl: `http://127.0.0.1:${port}`, cwd, env: { CORRAL_GATEWAY_KEY: key },
    args: [...nodeFlags, ...entry, '--backend', backend, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'],
  }));
}

class GatewayDeployment implements Deployment {
  readonly nodes = 1;
  readonly oneShotWatches = false;

  constructor(readonly target: string, private readonly ensemble: ZooKeeperEnsemble, private readonly members: readonly Member[],
    private processes: ManagedProcess[]) {}

  async client(inFlight: number): Promise<KvClient> {
    // Each gateway gets the connections it needs for its share of the requests in flight.
    const perGateway = Math.max(1, Math.ceil(inFlight / this.members.length));
    return new CorralClient(this.members.map((m) => new HttpClient(m.baseUrl, perGateway)));
  }

  watcher(path: string, index: number, onEvent: EventListener): Promise<Watcher> {
    return sseWatcher(this.members[index % this.members.length]!.baseUrl, path, onEvent);
  }

  /** The gateways' HTTP ports, for the watch-scale subscribers (events carry zxids, as Corral's do). */
  scaleEndpoints(): { kind: 'corral'; ports: number[] } {
    return { kind: 'corral', ports: this.members.map((m) => Number(new URL(m.baseUrl).port)) };
  }

  rssBytes(): number[] {
    return [...this.processes.map((p) => p.rssBytes() ?? 0), ...this.ensemble.rssBytes()];
  }

  cpuSeconds(): number {
    return this.ensemble.cpuSeconds() + this.processes.reduce((sum, p) => sum + p.cpuSeconds(), 0);
  }

  /** The gateways' event loops alone. */
  mainThreadCpuSeconds(): number {
    return this.processes.reduce((sum, p) => sum + p.mainThreadCpuSeconds(), 0);
  }

  exitDetail(): string | undefined {
    return this.ensemble.exitDetail() ?? this.processes.map((p) => p.exitDetail()).find((d) => d !== undefined);
  }

  async restart(): Promise<number> {
    const started = performance.now();
    await Promise.all(this.processes.map((p) => p.stop()));
    await this.ensemble.stop();
    await this.ensemble.start();
    this.processes = (await spawnAll(this.members)).processes;
    return performance.now() - started;
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    await this.ensemble.remove();
  }
}

function availability(): Availability {
  const available = zookeeperAvailability();
  return available.ok ? { ok: true } : { ok: false, status: 'missing', reason: `missing: ${available.reason}` };
}

function gatewayTarget(name: string, gateways: number): Target {
  return {
    name, nodes: 1, bulkBatchMax: OPS_PER_MULTI_MAX, availability,
    start: (options: StartOptions) => startWithFreshPorts(async () => {
      const started = performance.now();
      const ensemble = await ZooKeeperEnsemble.create(1, options.workDir);
      try {
        await ensemble.start();
        const members = await gatewayMembers(gateways, ensemble.clientPorts, options);
        const { processes } = await spawnAll(members);
        return { deployment: new GatewayDeployment(name, ensemble, members, processes), readyMs: performance.now() - started };
      } catch (error) {
        await ensemble.remove();
        throw error;
      }
    }),
  };
}

/** One gateway in front of a standalone ZooKeeper. */
export const gatewayTarget1 = gatewayTarget('gateway', 1);
/** Two gateways in front of one standalone ZooKeeper, the load spread over both. */
export const gatewayTarget2 = gatewayTarget('gateway-2', 2);

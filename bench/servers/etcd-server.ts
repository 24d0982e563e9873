/**
 * Starts real etcd 3.4 (Debian's `etcd-server` package) on loopback: one member, or a cluster of
 * 3 with their own peer ports. Default settings (fsync on, snapshot-count 100000); logs at warn.
 * Invariants: start is bounded (ready when every member's /health says true); `stop()` ends every
 * member; the data dirs are kept across `restart()` and removed by `remove()`.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { HttpClient } from '../http-client.ts';
import { freePort, makeTempDir, ManagedProcess, pollUntil, removeTempDir } from './managed-process.ts';

const READY_TIMEOUT_MS = 120_000;

export function etcdAvailability(): { ok: boolean; reason: string; version: string } {
  const probe = spawnSync('etcd', ['--version'], { encoding: 'utf8', timeout: 20_000 });
  if (probe.error !== undefined || probe.status !== 0) {
    return { ok: false, reason: 'no `etcd` on PATH (run .ci/install-etcd.sh)', version: '' };
  }
  const version = /etcd Version: (\S+)/.exec(probe.stdout)?.[1] ?? 'unknown';
  return { ok: true, reason: '', version };
}

interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
}

export class EtcdCluster {
  private processes: ManagedProcess[] = [];
  private fresh = true;

  private constructor(private readonly members: readonly Member[], private readonly root: string) {}

  static async create(size: number, workDir: string): Promise<EtcdCluster> {
    const root = makeTempDir('etcd-bench-', workDir);
    const members: Member[] = [];
    for (let i = 1; i <= size; i++) {
      members.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(root, `m${i}`) });
    }
    return new EtcdCluster(members, root);
  }

  get clientUrls(): string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  private args(m: Member): string[] {
    const initialCluster = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(',');
    return [
      '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', `http://127.0.0.1:${m.clientPort}`, '--advertise-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster', initialCluster, '--initial-cluster-state', this.fresh ? 'new' : 'existing',
      '--initial-cluster-token', `bench-${this.root.slice(-6)}`,
      '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
    ];
  }

  /** Starts every member; resolves with ms from spawn until all report healthy. */
  async start(): Promise<number> {
    const started = performance.now();
    this.processes = this.members.map((m) => new ManagedProcess({ name: `etcd-${m.name}`, command: 'etcd', args: this.args(m) }));
    this.fresh = false;
    const probes = this.clientUrls.map((url) => new HttpClient(url, 1));
    try {
      const ready = await pollUntil(async () => {
        if (this.processes.some((p) => !p.running)) return true;
        const health = await Promise.all(probes.map((p) => p.request('GET', '/health').catch(() => undefined)));
        return health.every((h) => h?.status === 200 && h.body.toString('utf8').includes('"true"'));
      }, READY_TIMEOUT_MS, 10);
      const dead = this.processes.find((p) => !p.running);
      if (!ready || dead) {
        const how = dead ? dead.exitDescription : 'timed out';
        await this.stop();
        const tail = (dead ?? this.processes[0]!).outputTail.slice(-2000);
        throw new Error(`etcd did not start (${how}): ${tail}`);
      }
      return performance.now() - started;
    } finally {
      for (const probe of probes) probe.close();
    }
  }

  rssBytes(): number[] {
    return this.processes.map((p) => p.rssBytes() ?? 0);
  }

  cpuSeconds(): number {
    return this.processes.reduce((sum, p) => sum + p.cpuSeconds(), 0);
  }

  exitDetail(): string | undefined {
    return this.processes.map((p) => p.exitDetail()).find((d) => d !== undefined);
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
  }

  async remove(): Promise<void> {
    await this.stop();
    removeTempDir(this.root);
  }
}

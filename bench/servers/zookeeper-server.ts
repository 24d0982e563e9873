/**
 * Starts real Apache ZooKeeper 3.8 (Debian's `zookeeper` package) on loopback: standalone, or an
 * ensemble of 3 servers on 127.0.0.1 with their own quorum and election ports. Settings are
 * upstream's defaults where they matter for speed: fsync on (forceSync=yes), the heap of
 * upstream's zkEnv.sh (-Xmx1000m), the JVM's default collector and full JIT.
 * With `tls` (standalone only), the server also takes clients on a secureClientPort: Netty
 * connections (NettyServerCnxnFactory, the only factory with TLS, then for both ports), the PEM
 * key store of 3.5.6+, no client certificate asked (as Corral's TLS target asks none), and the
 * netty jars Debian's zookeeper.jar manifest leaves out on the class path.
 * Invariants: start is bounded (ready when every server's `srvr` says leader/follower/standalone
 * and every secureClientPort speaks TLS);
 * `stop()` ends every JVM; the data dir is kept across `restart()` and removed by `remove()`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DevPki } from '../../scripts/dev-pki.ts';
import { freePort, makeTempDir, ManagedProcess, pollUntil, removeTempDir } from './managed-process.ts';
import { fourLetterWord, speaksTls } from '../../test/oracle/zookeeper-server.ts';

const JAVA_DIR = '/usr/share/java';
const JARS = ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-simple.jar'];
const TLS_JARS = ['netty-codec.jar', 'netty-resolver.jar'];
const READY_TIMEOUT_MS = 180_000;
export const ZK_HEAP_MB = 1000;

export function zookeeperAvailability(): { ok: boolean; reason: string } {
  const missing = JARS.filter((jar) => !existsSync(join(JAVA_DIR, jar)));
  if (missing.length > 0) return { ok: false, reason: `missing ${missing.map((j) => join(JAVA_DIR, j)).join(', ')} (run .ci/install-zookeeper.sh)` };
  const java = spawnSync('java', ['-version'], { stdio: 'ignore', timeout: 20_000 });
  if (java.error !== undefined || java.status !== 0) return { ok: false, reason: 'no working `java` on PATH (run .ci/install-zookeeper.sh)' };
  return { ok: true, reason: '' };
}

/** Sends a four-letter word and returns the reply ('' on any error): the oracle tests' helper. */
export { fourLetterWord };

interface Member {
  readonly id: number;
  readonly clientPort: number;
  readonly quorumPort: number;
  readonly electionPort: number;
  /** The secureClientPort, with TLS. */
  readonly securePort?: number;
  readonly dir: string;
}

function writeConfig(member: Member, all: readonly Member[]): string {
  const dataDir = join(member.dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const lines = [
    'tickTime=2000', 'initLimit=10', 'syncLimit=5',
    `dataDir=${dataDir}`, `clientPort=${member.clientPort}`, 'clientPortAddress=127.0.0.1',
    'admin.enableServer=false', '4lw.commands.whitelist=ruok,srvr,mntr', 'maxClientCnxns=0',
  ];
  if (member.securePort !== undefined) lines.push(`secureClientPort=${member.securePort}`, 'secureClientPortAddress=127.0.0.1');
  if (all.length > 1) {
    writeFileSync(join(dataDir, 'myid'), `${member.id}\n`);
    for (const m of all) lines.push(`server.${m.id}=127.0.0.1:${m.quorumPort}:${m.electionPort}`);
  }
  const cfg = join(member.dir, 'zoo.cfg');
  writeFileSync(cfg, `${lines.join('\n')}\n`);
  return cfg;
}

function javaArgs(cfg: string, tls: TlsFiles | undefined): string[] {
  const classpath = [...JARS, ...(tls ? TLS_JARS : [])].map((jar) => join(JAVA_DIR, jar)).join(':');
  const tlsProps = tls ? [
    '-Dzookeeper.serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory',
    `-Dzookeeper.ssl.keyStore.location=${tls.keyStore}`, '-Dzookeeper.ssl.keyStore.type=PEM',
    `-Dzookeeper.ssl.trustStore.location=${tls.ca}`, '-Dzookeeper.ssl.trustStore.type=PEM', '-Dzookeeper.ssl.clientAuth=none',
  ] : [];
  return [`-Xmx${ZK_HEAP_MB}m`, '-Dzookeeper.jmx.log4j.disable=true', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', ...tlsProps,
    '-cp', classpath, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg];
}

/** ZooKeeper's PEM key store (the private key, then the certificate, in one file) and the CA. */
interface TlsFiles {
  readonly keyStore: string;
  readonly ca: string;
}

async function serving(port: number): Promise<boolean> {
  return /Mode: (standalone|leader|follower)/.test(await fourLetterWord(port, 'srvr', 500));
}

export class ZooKeeperEnsemble {
  private processes: ManagedProcess[] = [];

  private constructor(private readonly members: readonly Member[], private readonly root: string, private readonly tls: TlsFiles | undefined) {}

  /** `tls`: the PKI whose server certificate a standalone server's secureClientPort presents. */
  static async create(size: number, workDir: string, tls?: DevPki): Promise<ZooKeeperEnsemble> {
    if (tls && size !== 1) throw new Error('the bench runs ZooKeeper with TLS standalone only');
    const root = makeTempDir('zk-bench-', workDir);
    const members: Member[] = [];
    for (let id = 1; id <= size; id++) {
      const dir = join(root, `s${id}`);
      mkdirSync(dir);
      const securePort = tls ? { securePort: await freePort() } : {};
      members.push({ id, clientPort: await freePort(), quorumPort: await freePort(), electionPort: await freePort(), ...securePort, dir });
    }
    let files: TlsFiles | undefined;
    if (tls) {
      files = { keyStore: join(root, 'server-keystore.pem'), ca: tls.ca.cert };
      writeFileSync(files.keyStore, readFileSync(tls.server.key, 'utf8') + readFileSync(tls.server.cert, 'utf8'), { mode: 0o600 });
    }
    return new ZooKeeperEnsemble(members, root, files);
  }

  get clientPorts(): number[] {
    return this.members.map((m) => m.clientPort);
  }

  /** The secureClientPorts (empty without TLS). */
  get securePorts(): number[] {
    return this.members.flatMap((m) => (m.securePort === undefined ? [] : [m.securePort]));
  }

  /** Starts every server; resolves with ms from spawn until all serve. */
  async start(): Promise<number> {
    const started = performance.now();
    this.processes = this.members.map((m) => new ManagedProcess({
      name: `zookeeper-${m.id}`, command: 'java', args: javaArgs(writeConfig(m, this.members), this.tls), cwd: m.dir,
    }));
    const ready = await pollUntil(async () => {
      if (this.processes.some((p) => !p.running)) return true;
      if (!(await Promise.all(this.clientPorts.map(serving))).every(Boolean)) return false;
      return (await Promise.all(this.securePorts.map((port) => speaksTls(port, 2000)))).every(Boolean);
    }, READY_TIMEOUT_MS, 10);
    const dead = this.processes.find((p) => !p.running);
    if (!ready || dead) {
      const how = dead ? dead.exitDescription : 'timed out';
      await this.stop();
      const tail = (dead ?? this.processes[0]!).outputTail.slice(-2000);
      throw new Error(`ZooKeeper did not start (${how}): ${tail}`);
    }
    return performance.now() - started;
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

  async mntr(index = 0): Promise<string> {
    return fourLetterWord(this.clientPorts[index]!, 'mntr', 2000);
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
  }

  async remove(): Promise<void> {
    await this.stop();
    removeTempDir(this.root);
  }
}

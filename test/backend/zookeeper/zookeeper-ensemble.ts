/**
 * A real three-server ZooKeeper 3.8 ensemble on loopback (Debian's package), for the fault tests
 * of gateways: each server a JVM under a small sh watchdog that stops it when this process goes
 * away, every start bounded (ready once each answers `srvr` with a Mode), kill(i) stops one
 * server (SIGKILL), stop() ends all and removes the temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../support/corral-process.ts';
import { fourLetterWord, freePort, INSTALL_HINT, zookeeperAvailable } from '../../oracle/zookeeper-server.ts';

const JARS = ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-simple.jar'].map((jar) => join('/usr/share/java', jar));

// Stops the JVM when our stdin pipe closes (this process gone, even SIGKILLed), as the oracle's does.
const WATCHDOG = ['exec 3<&0', 'java "$@" 3<&- </dev/null &', 'jvm=$!', '( read -r _ <&3; kill "$jvm" 2>/dev/null ) &', 'wait "$jvm"'].join('\n');

export interface Ensemble {
  readonly clientPorts: readonly number[];
  /** `zookeeper://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`. */
  readonly url: string;
  /** SIGKILLs server `index` (0-based) and waits for it to be gone. */
  kill(index: number): Promise<void>;
  /** The Mode each server reports (`leader`, `follower`, or '' when it does not answer). */
  modes(): Promise<string[]>;
  stop(): Promise<void>;
}

async function modeOf(port: number): Promise<string> {
  const reply = await fourLetterWord(port, 'srvr', 500);
  return /Mode: (\w+)/.exec(reply)?.[1] ?? '';
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

/** `systemProperties`: extra JVM properties for every server, e.g. { 'zookeeper.extendedTypesEnabled': 'true' }. */
export async function startEnsemble(startTimeoutMs = 60_000, systemProperties: Readonly<Record<string, string>> = {}): Promise<Ensemble> {
  const available = zookeeperAvailable();
  if (!available.ok) throw new Error(`ZooKeeper unavailable (${available.reason}). ${INSTALL_HINT}`);
  const dir = mkdtempSync(join(tmpdir(), 'corral-zk-ensemble-'));
  const ports = await Promise.all(Array.from({ length: 9 }, () => freePort()));
  const clientPorts = [ports[0]!, ports[1]!, ports[2]!];
  const servers = [1, 2, 3].map((id) => `server.${id}=127.0.0.1:${ports[id + 2]}:${ports[id + 5]}`);
  const children: ChildProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const data = join(dir, `data${i + 1}`);
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'myid'), `${i + 1}\n`);
    const cfg = join(dir, `zoo${i + 1}.cfg`);
    writeFileSync(cfg, ['tickTime=500', 'initLimit=20', 'syncLimit=10', `dataDir=${data}`, `clientPort=${clientPorts[i]}`,
      'clientPortAddress=127.0.0.1', 'admin.enableServer=false', '4lw.commands.whitelist=ruok,srvr', 'maxClientCnxns=0', ...servers, ''].join('\n'));
    const args = ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Dzookeeper.forceSync=no', '-Dzookeeper.jmx.log4j.disable=true',
      ...Object.entries(systemProperties).map(([k, v]) => `-D${k}=${v}`), '-cp', JARS.join(':'), 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg];
    children.push(spawn('/bin/sh', ['-c', WATCHDOG, 'zookeeper-watchdog', ...args], { cwd: dir, stdio: ['pipe', 'ignore', 'ignore'], detached: true }));
  }
  const stop = async (): Promise<void> => {
    for (const child of children) child.stdin?.end();
    for (const child of children) {
      if (!(await exited(child, 10_000)) && child.pid !== undefined) {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
        await exited(child, 5000);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const modes = () => Promise.all(clientPorts.map(modeOf));
  try {
    await waitFor(async () => ((await modes()).every((m) => m === 'leader' || m === 'follower') ? true : undefined), {
      timeoutMs: startTimeoutMs, what: 'a three-server ZooKeeper ensemble with a leader',
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    clientPorts, url: `zookeeper://${clientPorts.map((p) => `127.0.0.1:${p}`).join(',')}`, modes, stop,
    async kill(index) {
      const child = children[index]!;
      if (child.pid !== undefined) {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      }
      await exited(child, 10_000);
    },
  };
}

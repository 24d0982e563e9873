/**
 * A real ZooKeeper 3.8 standalone (Debian's package) with a secureClientPort on 127.0.0.1: Netty
 * server connections (NettyServerCnxnFactory, the only one with TLS), PEM key and trust stores
 * (ssl.keyStore.type=PEM, supported since 3.5.6), client certificates required (ZooKeeper's
 * default ssl.clientAuth=need). Debian's zookeeper.jar manifest lists netty-handler but not the
 * netty-codec and netty-resolver it needs for TLS: they go on the class path here. The plain
 * clientPort stays for the readiness check (`srvr`). The JVM runs under the same stdin watchdog
 * as the oracle's, so it never outlives the test; start and stop are bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevPki } from '../../../scripts/dev-pki.ts';
import { waitFor } from '../../support/corral-process.ts';
import { fourLetterWord, freePort, speaksTls, INSTALL_HINT, zookeeperAvailable } from '../../oracle/zookeeper-server.ts';

const JARS = ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-simple.jar', 'netty-codec.jar', 'netty-resolver.jar'].map((jar) => join('/usr/share/java', jar));
const WATCHDOG = ['exec 3<&0', 'java "$@" 3<&- </dev/null &', 'jvm=$!', '( read -r _ <&3; kill "$jvm" 2>/dev/null ) &', 'wait "$jvm"'].join('\n');

export interface TlsZooKeeper {
  /** The plain port (readiness, and a plain client to compare with). */
  readonly port: number;
  readonly securePort: number;
  stop(): Promise<void>;
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

/** Starts it with the PKI's server certificate, trusting the PKI's CA for client certificates. */
export async function startTlsZooKeeper(pki: DevPki, startTimeoutMs = 60_000): Promise<TlsZooKeeper> {
  const available = zookeeperAvailable();
  if (!available.ok) throw new Error(`ZooKeeper unavailable (${available.reason}). ${INSTALL_HINT}`);
  const dir = mkdtempSync(join(tmpdir(), 'corral-zk-tls-'));
  const [port, securePort] = [await freePort(), await freePort()];
  mkdirSync(join(dir, 'data'));
  // ZooKeeper's PEM key store is one file: the private key, then the certificate.
  const keyStore = join(dir, 'server-keystore.pem');
  writeFileSync(keyStore, readFileSync(pki.server.key, 'utf8') + readFileSync(pki.server.cert, 'utf8'), { mode: 0o600 });
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, ['tickTime=2000', `dataDir=${join(dir, 'data')}`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1',
    `secureClientPort=${securePort}`, 'secureClientPortAddress=127.0.0.1', 'admin.enableServer=false', '4lw.commands.whitelist=ruok,srvr', ''].join('\n'));
  const props = {
    'zookeeper.serverCnxnFactory': 'org.apache.zookeeper.server.NettyServerCnxnFactory',
    'zookeeper.ssl.keyStore.location': keyStore, 'zookeeper.ssl.keyStore.type': 'PEM',
    'zookeeper.ssl.trustStore.location': pki.ca.cert, 'zookeeper.ssl.trustStore.type': 'PEM',
    'zookeeper.forceSync': 'no', 'zookeeper.jmx.log4j.disable': 'true',
  };
  const args = ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', ...Object.entries(props).map(([k, v]) => `-D${k}=${v}`),
    '-cp', JARS.join(':'), 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg];
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'zookeeper-watchdog', ...args], { cwd: dir, stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  const stop = async (): Promise<void> => {
    child.stdin?.end();
    if (!(await exited(child, 10_000)) && child.pid !== undefined) {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      await exited(child, 5000);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (child.exitCode !== null ? false : (await fourLetterWord(port, 'srvr', 500)).includes('Mode: ') && (await speaksTls(securePort, 2000)) ? true : undefined), {
      timeoutMs: startTimeoutMs, what: 'ZooKeeper with a secureClientPort serving',
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, securePort, stop };
}

// Starts a real, standalone Apache ZooKeeper 3.8 (Debian's `zookeeper` package) on loopback for
// the oracle tests. Invariants: every start is bounded (ready when `ruok` answers `imok`, or a
// clear error within startTimeoutMs); `stop()` always ends the JVM and removes its temp dir.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../support/corral-process.ts';

const JAVA_DIR = '/usr/share/java';
// zookeeper.jar's manifest Class-Path brings netty, slf4j-api, metrics, ...; it has no logging binding.
const JARS = ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-simple.jar'];
const OUTPUT_TAIL_CHARS = 4000;

export const INSTALL_HINT =
  'Real ZooKeeper is needed for the oracle test: run `.ci/install-zookeeper.sh` ' +
  '(or `apt-get install -y zookeeper`, which brings Java and the jars under /usr/share/java).';

export interface ZooKeeperHandle {
  readonly port: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  startTimeoutMs?: number;
  /** Extra JVM system properties, e.g. { 'znode.container.checkIntervalMs': '100' }. */
  systemProperties?: Record<string, string>;
  /**
   * ZooKeeper's tickTime (2000 ms when absent): session timeouts are negotiated into
   * [2, 20] × tickTime, so suites with sessions under 4 s need a smaller one (100 ms: 200 ms–2 s).
   */
  tickTimeMs?: number;
}

/** Whether the jars and a `java` binary are present; `reason` says what is missing. */
export function zookeeperAvailable(): { ok: boolean; reason: string } {
  const missing = JARS.filter((jar) => !existsSync(join(JAVA_DIR, jar)));
  if (missing.length > 0) return { ok: false, reason: `missing ${missing.map((j) => join(JAVA_DIR, j)).join(', ')}` };
  const java = spawnSync('java', ['-version'], { stdio: 'ignore', timeout: 20_000 });
  if (java.error !== undefined || java.status !== 0) return { ok: false, reason: 'no working `java` on PATH' };
  return { ok: true, reason: '' };
}

export { freePort };

/** Why an oracle cannot run here, or '' when ZooKeeper is installed: each of its tests fails with it. */
export function zooKeeperMissing(): string {
  const { ok, reason } = zookeeperAvailable();
  if (ok) return '';
  if (process.env.CI) return `ZooKeeper is required in CI but unavailable (${reason}): run .ci/install-zookeeper.sh before the tests.`;
  return `ZooKeeper is unavailable (${reason}). ${INSTALL_HINT}`;
}

/** Sends a four-letter word and returns the reply ('' on any error), bounded by timeoutMs. */
export async function fourLetterWord(port: number, word: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    let reply = '';
    const socket = createConnection({ host: '127.0.0.1', port });
    const finish = (): void => { socket.destroy(); resolve(reply); };
    socket.setTimeout(timeoutMs, finish);
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk) => { reply += chunk.toString('utf8'); });
    socket.on('end', finish);
    socket.on('error', finish);
  });
}

/**
 * Whether the server on `port` answers a TLS handshake within `timeoutMs`: it completes, or the
 * server refuses it with a TLS alert (a server that needs a client certificate). A secureClientPort
 * is bound by its own factory after the plain port already answers `srvr`, and a cold JVM loads
 * its SSL context later still, so a server is ready for TLS clients only once it speaks TLS.
 * Certificates are not checked here; the clients under test check them.
 */
export async function speaksTls(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    const finish = (ok: boolean): void => { socket.destroy(); resolve(ok); };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.on('secureConnect', () => finish(true));
    socket.on('error', (error: NodeJS.ErrnoException) => finish(error.code?.startsWith('ERR_SSL_') === true));
  });
}

// `ruok` answers `imok` as soon as the socket is up, before the database is loaded; `srvr` says
// "not currently serving requests" until then, and "Mode: standalone" after.
async function isServing(port: number): Promise<boolean> {
  if ((await fourLetterWord(port, 'ruok', 500)) !== 'imok') return false;
  return (await fourLetterWord(port, 'srvr', 500)).includes('Mode: ');
}

function writeConfig(dir: string, port: number, tickTimeMs: number): string {
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, [
    `tickTime=${tickTimeMs}`,
    `dataDir=${join(dir, 'data')}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr',
    'maxClientCnxns=0',
    '',
  ].join('\n'));
  return cfg;
}

function javaArgs(cfg: string, props: Record<string, string>): string[] {
  const classpath = JARS.map((jar) => join(JAVA_DIR, jar)).join(':');
  const allProps: Record<string, string> = {
    'zookeeper.extendedTypesEnabled': 'true',
    'zookeeper.forceSync': 'no',
    'zookeeper.jmx.log4j.disable': 'true',
    ...props,
  };
  const defines = Object.entries(allProps).map(([k, v]) => `-D${k}=${v}`);
  return ['-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', ...defines, '-cp', classpath,
    'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg];
}

async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

// The JVM runs under a small sh watchdog holding our stdin pipe: when this process goes away for
// any reason (even a SIGKILLed test worker), the pipe reaches EOF and the watchdog stops the JVM,
// so no ZooKeeper outlives its test; then it removes the temp dir. The sh exits with the JVM, so
// a crash is seen at once.
const WATCHDOG = [
  'exec 3<&0',
  'java "$@" 3<&- </dev/null &',
  'jvm=$!',
  '( read -r _ <&3; kill "$jvm" 2>/dev/null ) &',
  'wait "$jvm"; status=$?',
  'rm -rf -- "$ZK_TEMP_DIR"',
  'exit "$status"',
].join('\n');

function spawnJvm(args: string[], dir: string): ChildProcess {
  // detached: its own process group, so stop() can SIGKILL sh, reader and JVM together.
  return spawn('/bin/sh', ['-c', WATCHDOG, 'zookeeper-watchdog', ...args], {
    cwd: dir, stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, ZK_TEMP_DIR: dir },
  });
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  child.stdin?.end(); // the watchdog sends SIGTERM to the JVM
  if (!(await waitForExit(child, 10_000)) && child.pid !== undefined) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
    await waitForExit(child, 5000);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Starts ZooKeeper standalone on 127.0.0.1:<free port>; resolves once it serves requests. */
export async function startZooKeeper(options: StartOptions = {}): Promise<ZooKeeperHandle> {
  const available = zookeeperAvailable();
  if (!available.ok) throw new Error(`ZooKeeper unavailable (${available.reason}). ${INSTALL_HINT}`);
  const dir = mkdtempSync(join(tmpdir(), 'corral-zk-'));
  const port = await freePort();
  const tickTimeMs = options.tickTimeMs ?? 2000;
  if (!Number.isInteger(tickTimeMs) || tickTimeMs < 10) throw new Error(`tickTimeMs ${tickTimeMs}: an integer of at least 10 ms`);
  const cfg = writeConfig(dir, port, tickTimeMs);
  const child = spawnJvm(javaArgs(cfg, options.systemProperties ?? {}), dir);
  let output = '';
  const keepTail = (chunk: Buffer): void => { output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS); };
  child.stdout?.on('data', keepTail);
  child.stderr?.on('data', keepTail);
  child.on('error', (err) => { output += `\nspawn error: ${err.message}`; });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const serving = await waitFor(async () => (gone() ? 'exited' : (await isServing(port)) && 'serving'), {
    timeoutMs: options.startTimeoutMs ?? 30_000, what: `ZooKeeper on 127.0.0.1:${port}`,
  }).catch(() => 'timed out');
  if (serving === 'serving') return { port, stop: () => stopChild(child, dir) };
  const exited = child.exitCode !== null || child.signalCode !== null;
  await stopChild(child, dir);
  throw new Error(`ZooKeeper did not answer ruok on 127.0.0.1:${port} ` +
    `(${exited ? `exited with ${child.exitCode ?? child.signalCode}` : 'timed out'}); output tail:\n${output}`);
}

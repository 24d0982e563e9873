/**
 * `npm run cluster`: a local 3-node Corral cluster on loopback, for trying failover by hand.
 * Clients on 127.0.0.1:8181..8183, peers on 127.0.0.1:9181..9183, data under ./data/cluster/n<id>,
 * and a cluster secret generated once into ./data/cluster/secret. Each node's log lines are
 * prefixed with its id, and its pid is printed at start (to try `kill -9` on the leader);
 * Ctrl-C stops all three. `--size 5` runs five; `--client-port`/`--peer-port` move the port ranges
 * (`--help` lists every option; an unknown one is a one-line error with exit code 2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const USAGE = `Usage: npm run cluster -- [options]

A local Corral cluster on 127.0.0.1 for trying failover by hand; Ctrl-C stops it.

Options:
  --size <n>          members: 1, 3, 5 or 7 (default 3)
  --data-dir <dir>    each member's data under <dir>/n<id>, the cluster secret in <dir>/secret
                      (default ./data/cluster)
  --client-port <p>   member i serves clients on 127.0.0.1:<p + i - 1> (default 8181)
  --peer-port <p>     member i talks to its peers on 127.0.0.1:<p + i - 1> (default 9181)
  -h, --help          print this help
`;

/** A command-line mistake: one line on stderr and exit code 2, as a CLI should (no stack trace). */
function usageError(message: string): never {
  process.stderr.write(`cluster: ${message} (see npm run cluster -- --help)\n`);
  process.exit(2);
}

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        size: { type: 'string', default: '3' },
        'data-dir': { type: 'string', default: './data/cluster' },
        'client-port': { type: 'string', default: '8181' },
        'peer-port': { type: 'string', default: '9181' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    // parseArgs's message is one line ("Unknown option '--bogus'…"); its stack is noise here.
    return usageError((error as Error).message.split('\n')[0]!);
  }
}

function port(flag: string, value: string, size: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n + size - 1 > 65535) usageError(`--${flag} must be a port from 1 to ${65536 - size}`);
  return n;
}

const values = parseCommandLine();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const size = Number(values.size);
if (![1, 3, 5, 7].includes(size)) usageError('--size must be 1, 3, 5 or 7');
const dataDir = resolve(values['data-dir']);
const clientBase = port('client-port', values['client-port'], size);
const peerBase = port('peer-port', values['peer-port'], size);
if (Math.abs(clientBase - peerBase) < size) usageError('--client-port and --peer-port ranges overlap');
mkdirSync(dataDir, { recursive: true });
const secretFile = join(dataDir, 'secret');
if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
const secret = readFileSync(secretFile, 'utf8').trim();

const ids = Array.from({ length: size }, (_, i) => i + 1);
const members = ids.map((id) => `${id}=127.0.0.1:${clientBase + id - 1}/127.0.0.1:${peerBase + id - 1}`).join(',');
const children: ChildProcess[] = [];

for (const id of ids) {
  // stdin a pipe this script holds: exit-with-parent.mjs ends the member when it closes, so a
  // script killed outright (SIGKILL) leaves no member behind.
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './scripts/exit-with-parent.mjs', 'src/main.ts'], {
    cwd: resolve(import.meta.dirname, '..'),
    env: {
      ...process.env, CORRAL_ID: String(id), CORRAL_MEMBERS: members, CORRAL_CLUSTER_SECRET: secret,
      CORRAL_PORT: String(clientBase + id - 1), CORRAL_DATA_DIR: join(dataDir, `n${id}`),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[n${id}] ${line}\n`));
  }
  child.on('exit', (code, signal) => process.stdout.write(`[n${id}] exited (${signal ?? code})\n`));
  children.push(child);
  process.stdout.write(`member ${id}: http://127.0.0.1:${clientBase + id - 1} pid ${child.pid}\n`);
}
process.stdout.write(`corral cluster of ${size}, data in ${dataDir}; Ctrl-C stops it\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));

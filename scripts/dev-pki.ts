/**
 * A development PKI made with Debian's openssl: one CA, a server certificate for the loopback
 * names, a certificate per cluster member bound to its id, and client certificates with the
 * subjects asked for. For tests and quick local clusters — a production CA keeps its key offline.
 *
 *   npm run dev-certs -- <dir> [--members 1,2,3] [--client alice=/CN=alice/O=Example]...
 *
 * A member's certificate names its id in the SAN `URI:urn:corral:member:<id>`: that, not the host
 * name, is what the peer link checks, so a member cannot pose as another even on a shared host.
 * Keys are EC P-256 (fast to make and to handshake with); every key file is written 0600.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

export interface KeyPair {
  /** Path of the PEM certificate. */
  readonly cert: string;
  /** Path of the PEM private key (0600). */
  readonly key: string;
}

export interface ClientSpec {
  /** File name stem: client-<name>.pem. */
  readonly name: string;
  /** openssl -subj form, e.g. "/CN=alice/O=Example". */
  readonly subject: string;
}

export interface DevPki {
  readonly dir: string;
  readonly ca: KeyPair;
  readonly server: KeyPair;
  readonly members: ReadonlyMap<number, KeyPair>;
  readonly clients: ReadonlyMap<string, KeyPair & { readonly subject: string }>;
}

export interface DevPkiOptions {
  readonly members?: readonly number[];
  readonly clients?: readonly ClientSpec[];
  /** Extra SAN entries for the server certificate, e.g. "DNS:corral.example" or "IP:10.0.0.5". */
  readonly serverNames?: readonly string[];
  /** Validity in days (default 30). */
  readonly days?: number;
}

/** The SAN a member's certificate carries to name its id. */
export function memberUri(id: number): string {
  return `urn:corral:member:${id}`;
}

const LOOPBACK_NAMES = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'];

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(path: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
  chmodSync(path, 0o600);
}

/** Signs a fresh key's certificate with the CA; `extensions` is an openssl extension section. */
function issue(dir: string, stem: string, subject: string, extensions: string, ca: KeyPair, days: number): KeyPair {
  const key = join(dir, `${stem}-key.pem`);
  const cert = join(dir, `${stem}.pem`);
  const csr = join(dir, `${stem}.csr`);
  const ext = join(dir, `${stem}.ext`);
  newKey(key);
  openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  writeFileSync(ext, extensions);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', String(days), '-sha256', '-extfile', ext, '-out', cert]);
  rmSync(csr);
  rmSync(ext);
  return { cert, key };
}

function leafExtensions(usage: string, names: readonly string[]): string {
  return [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    `extendedKeyUsage = ${usage}`,
    ...(names.length > 0 ? [`subjectAltName = ${names.join(', ')}`] : []),
  ].join('\n') + '\n';
}

export function makeDevPki(dir: string, options: DevPkiOptions = {}): DevPki {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const days = options.days ?? 30;
  const ca: KeyPair = { cert: join(root, 'ca.pem'), key: join(root, 'ca-key.pem') };
  newKey(ca.key);
  openssl(['req', '-new', '-x509', '-key', ca.key, '-subj', '/CN=Corral dev CA', '-days', String(days), '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', ca.cert]);
  const server = issue(root, 'server', '/CN=localhost', leafExtensions('serverAuth', [...LOOPBACK_NAMES, ...(options.serverNames ?? [])]), ca, days);
  const members = new Map<number, KeyPair>();
  for (const id of options.members ?? []) {
    const names = [`URI:${memberUri(id)}`, ...LOOPBACK_NAMES];
    members.set(id, issue(root, `member-${id}`, `/CN=corral-member-${id}`, leafExtensions('serverAuth, clientAuth', names), ca, days));
  }
  const clients = new Map<string, KeyPair & { subject: string }>();
  for (const client of options.clients ?? []) {
    if (!/^[A-Za-z0-9_-]+$/.test(client.name)) throw new Error(`client names are letters, digits, _ and -, got "${client.name}"`);
    clients.set(client.name, { ...issue(root, `client-${client.name}`, client.subject, leafExtensions('clientAuth', []), ca, days), subject: client.subject });
  }
  return { dir: root, ca, server, members, clients };
}

function main(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { members: { type: 'string' }, client: { type: 'string', multiple: true }, 'server-name': { type: 'string', multiple: true } },
  });
  const dir = positionals[0];
  if (dir === undefined) throw new Error('usage: npm run dev-certs -- <dir> [--members 1,2,3] [--client alice=/CN=alice] [--server-name DNS:host]');
  const members = (values.members ?? '').split(',').filter(Boolean).map(Number);
  if (members.some((id) => !Number.isSafeInteger(id) || id < 1)) throw new Error('--members takes positive integer ids, comma-separated');
  const clients = (values.client ?? []).map((spec) => {
    const eq = spec.indexOf('=');
    if (eq < 1) throw new Error(`--client takes name=/CN=..., got "${spec}"`);
    return { name: spec.slice(0, eq), subject: spec.slice(eq + 1) };
  });
  const pki = makeDevPki(dir, { members, clients, serverNames: values['server-name'] ?? [] });
  const lines = [`CA          ${pki.ca.cert}`, `server      ${pki.server.cert}  ${pki.server.key}`];
  for (const [id, pair] of pki.members) lines.push(`member ${id}    ${pair.cert}  ${pair.key}`);
  for (const [name, pair] of pki.clients) lines.push(`client ${name}  ${pair.cert}  ${pair.key}  (${pair.subject})`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`dev-certs: ${(error as Error).message}\n`);
    process.exit(2);
  }
}

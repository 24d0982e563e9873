/**
 * deploy/entrypoint.sh, run as the container runs it (`sh`, a bare environment), with CORRAL_APP_DIR
 * pointing at a stand-in dist/main.mjs that prints what it was started with: the environment the
 * node would read and its own file's modes. The real node under the same entrypoint is in
 * statefulset-start.e2e.test.ts.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, REPO_ROOT } from '../support/corral-process.ts';

const ENTRYPOINT = join(REPO_ROOT, 'deploy', 'entrypoint.sh');
const RUN_TIMEOUT_MS = 20_000;

/** Prints the CORRAL_* variables it got, and the mode of the cluster secret file it was given. */
const STAND_IN = `
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith('CORRAL_')));
const { statSync } = await import('node:fs');
const file = env.CORRAL_CLUSTER_SECRET_FILE;
const secretMode = file ? (statSync(file).mode & 0o777).toString(8) : undefined;
process.stdout.write(JSON.stringify({ env, secretMode, argv: process.argv.slice(2) }));
`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runEntrypoint(env: Record<string, string>, args: readonly string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    const bare = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, ...env };
    execFile('sh', [ENTRYPOINT, ...args], { env: bare, timeout: RUN_TIMEOUT_MS }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('deploy/entrypoint.sh', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) removeDir(dir);
  });

  /** An app folder with the stand-in, empty Secret folders and a run folder, as the pod mounts them. */
  function pod(): Record<string, string> {
    const root = makeTempDir('corral-entrypoint-');
    dirs.push(root);
    mkdirSync(join(root, 'app', 'dist'), { recursive: true });
    writeFileSync(join(root, 'app', 'dist', 'main.mjs'), STAND_IN);
    for (const dir of ['secrets', 'tls', 'peer-tls', 'run']) mkdirSync(join(root, dir));
    return {
      CORRAL_APP_DIR: join(root, 'app'), CORRAL_SECRETS_DIR: join(root, 'secrets'), CORRAL_TLS_DIR: join(root, 'tls'),
      CORRAL_PEER_TLS_DIR: join(root, 'peer-tls'), CORRAL_RUN_DIR: join(root, 'run'), CORRAL_DATA_DIR: join(root, 'data'),
    };
  }

  const statefulSet = { POD_NAMESPACE: 'prod', POD_IP: '10.1.2.3', CORRAL_REPLICAS: '3', CORRAL_SERVICE: 'corral-headless' };

  async function started(env: Record<string, string>): Promise<{ env: Record<string, string>; secretMode?: string; argv: string[] }> {
    const run = await runEntrypoint(env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout);
  }

  it('makes pod <set>-2 member 3 and lists every pod by its stable DNS name', async () => {
    const { env } = await started({ ...pod(), ...statefulSet, POD_NAME: 'corral-2' });
    expect(env.CORRAL_ID).toBe('3');
    expect(env.CORRAL_MEMBERS).toBe([
      '1=corral-0.corral-headless.prod.svc.cluster.local:8181/corral-0.corral-headless.prod.svc.cluster.local:8182',
      '2=corral-1.corral-headless.prod.svc.cluster.local:8181/corral-1.corral-headless.prod.svc.cluster.local:8182',
      // Its own peer port is bound on the pod's address, which its name may not resolve to yet.
      '3=corral-2.corral-headless.prod.svc.cluster.local:8181/10.1.2.3:8182',
    ].join(','));
    expect(env.CORRAL_HOST).toBe('10.1.2.3');
  });

  it('takes the ports, the cluster domain and the admin port from the environment', async () => {
    const { env } = await started({
      ...pod(), ...statefulSet, POD_NAME: 'db-0', CORRAL_REPLICAS: '2', CORRAL_PORT: '9000', CORRAL_PEER_PORT: '9001',
      CORRAL_CLUSTER_DOMAIN: 'k8s.example', CORRAL_ADMIN_PORT: '9002',
    });
    expect(env.CORRAL_ID).toBe('1');
    expect(env.CORRAL_MEMBERS).toBe('1=db-0.corral-headless.prod.svc.k8s.example:9000/10.1.2.3:9001,2=db-1.corral-headless.prod.svc.k8s.example:9000/db-1.corral-headless.prod.svc.k8s.example:9001');
    expect(env.CORRAL_PORT).toBe('9000');
    expect(env.CORRAL_ADMIN_LISTEN).toBe('10.1.2.3:9002');
  });

  it('runs a single node, needing no names, when there is one replica', async () => {
    const { env } = await started({ ...pod() });
    expect(env.CORRAL_ID).toBe('1');
    expect(env.CORRAL_MEMBERS).toBeUndefined();
    expect(env.CORRAL_HOST).toBe('0.0.0.0');
  });

  it('passes its arguments on to the node', async () => {
    const run = await runEntrypoint({ ...pod() }, ['--log-level', 'debug']);
    expect(JSON.parse(run.stdout).argv).toEqual(['--log-level', 'debug']);
  });

  it('copies a group-readable cluster secret into a private file the node accepts', async () => {
    const env = pod();
    const secret = join(env.CORRAL_SECRETS_DIR!, 'cluster-secret');
    writeFileSync(secret, 'a-cluster-secret-of-some-length\n');
    chmodSync(secret, 0o440); // what a Secret volume with an fsGroup holds
    // A folder left open in the shared emptyDir is closed before the copy goes in.
    mkdirSync(join(env.CORRAL_RUN_DIR!, 'secrets'));
    chmodSync(join(env.CORRAL_RUN_DIR!, 'secrets'), 0o777);
    const out = await started({ ...env, ...statefulSet, POD_NAME: 'corral-0' });
    expect(out.env.CORRAL_CLUSTER_SECRET_FILE).toBe(join(env.CORRAL_RUN_DIR!, 'secrets', 'cluster-secret'));
    expect(out.secretMode).toBe('600');
    expect((statSync(join(env.CORRAL_RUN_DIR!, 'secrets')).mode & 0o777).toString(8)).toBe('700');
  });

  it('uses the client certificate and this member\'s own peer certificate from the mounted Secrets', async () => {
    const env = pod();
    for (const name of ['tls.crt', 'tls.key', 'ca.crt']) writeFileSync(join(env.CORRAL_TLS_DIR!, name), 'pem');
    for (const name of ['member-1.crt', 'member-1.key', 'member-2.crt', 'member-2.key', 'ca.crt']) writeFileSync(join(env.CORRAL_PEER_TLS_DIR!, name), 'pem');
    const out = await started({ ...env, ...statefulSet, POD_NAME: 'corral-1' });
    expect(out.env.CORRAL_TLS_CERT).toBe(join(env.CORRAL_TLS_DIR!, 'tls.crt'));
    expect(out.env.CORRAL_TLS_KEY).toBe(join(env.CORRAL_TLS_DIR!, 'tls.key'));
    expect(out.env.CORRAL_TLS_CA).toBe(join(env.CORRAL_TLS_DIR!, 'ca.crt'));
    expect(out.env.CORRAL_PEER_TLS_CERT).toBe(join(env.CORRAL_PEER_TLS_DIR!, 'member-2.crt'));
    expect(out.env.CORRAL_PEER_TLS_KEY).toBe(join(env.CORRAL_PEER_TLS_DIR!, 'member-2.key'));
    expect(out.env.CORRAL_PEER_TLS_CA).toBe(join(env.CORRAL_PEER_TLS_DIR!, 'ca.crt'));
  });

  const refusals = [
    ['a pod name without an ordinal', { POD_NAME: 'corral' }, /not a StatefulSet pod's name/],
    ['a pod name ending in a word', { POD_NAME: 'corral-x' }, /does not end in -<ordinal>/],
    ['an ordinal past the replicas', { POD_NAME: 'corral-3' }, /ordinal 3, but CORRAL_REPLICAS is 3/],
    ['no headless Service name', { POD_NAME: 'corral-0', CORRAL_SERVICE: '' }, /CORRAL_SERVICE/],
    ['a replica count that is no number', { POD_NAME: 'corral-0', CORRAL_REPLICAS: 'three' }, /CORRAL_REPLICAS must be/],
    ['a port out of range', { POD_NAME: 'corral-0', CORRAL_PEER_PORT: '70000' }, /CORRAL_PEER_PORT must be a port/],
    ['the same client and peer port', { POD_NAME: 'corral-0', CORRAL_PORT: '8182' }, /both 8182/],
  ] as const;

  it.each(refusals)('refuses with exit code 2 %s', async (_what, env, message) => {
    const run = await runEntrypoint({ ...pod(), ...statefulSet, ...env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe(''); // the node was never started
  });

  it('refuses a member certificate without its key', async () => {
    const env = pod();
    writeFileSync(join(env.CORRAL_PEER_TLS_DIR!, 'member-1.crt'), 'pem');
    const run = await runEntrypoint({ ...env, ...statefulSet, POD_NAME: 'corral-0' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/member-1.crt but not member-1.key and ca.crt/);
  });
});

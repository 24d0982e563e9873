/**
 * Three members started exactly as the chart's StatefulSet starts them: deploy/entrypoint.sh under
 * `sh`, with the container's environment taken from the rendered StatefulSet (its downward-API
 * fields filled in as the kubelet would: pod names corral-0..2, namespace, pod IPs), and the
 * bundle `npm run build` makes. They must form a cluster, and the image's HEALTHCHECK command must
 * report each ready.
 *
 * Names resolve as in a cluster: nss_wrapper (Debian's libnss-wrapper, LD_PRELOADed; see
 * .ci/install-nss-wrapper.sh) answers the pods' DNS names from a hosts file with 127.0.0.2-4, which
 * are loopback addresses too, so every member binds the same two ports on its own address as pods
 * do. Nothing in the entrypoint or the node knows of it. What a test cannot mount where a pod
 * does, it points at through the entrypoint's folder variables: the volumes (data, run, the
 * Secret) and the app folder holding the bundle.
 *
 * Bounded: every wait has a deadline, the processes are SIGKILLed and the folders removed in
 * afterAll.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderChart } from '../../scripts/helm-render.ts';
import { CHART_DIR } from '../../scripts/render-manifests.ts';
import { http, removeDir, REPO_ROOT, waitFor } from '../support/corral-process.ts';

const NAMESPACE = 'deploy-test';
const REPLICAS = 3;
const NSS_WRAPPER = 'libnss_wrapper.so';
const BUILD_TIMEOUT_MS = 120_000;
const START_TIMEOUT_MS = 90_000;
const run = promisify(execFile);

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } };
}

interface Pod {
  readonly name: string;
  readonly ip: string;
  readonly env: Record<string, string>;
  readonly child: ChildProcess;
  output: string;
}

/** Whether `port` can be bound on every one of `hosts` right now. */
async function freeOnAll(port: number, hosts: readonly string[]): Promise<boolean> {
  for (const host of hosts) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, host, () => server.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

/** A client and a peer port free on every pod address (below the usual ephemeral range). */
async function portPair(hosts: readonly string[]): Promise<[number, number]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + 2 * Math.floor(Math.random() * 5000);
    if ((await freeOnAll(port, hosts)) && (await freeOnAll(port + 1, hosts))) return [port, port + 1];
  }
  throw new Error('no free port pair on the pod addresses');
}

/** The kubelet's part: a container's env from the StatefulSet, downward-API fields filled in. */
function containerEnv(env: readonly EnvVar[], pod: { name: string; ip: string }): Record<string, string> {
  const fields: Record<string, string> = { 'metadata.name': pod.name, 'metadata.namespace': NAMESPACE, 'status.podIP': pod.ip };
  return Object.fromEntries(env.map((variable) => {
    const field = variable.valueFrom?.fieldRef?.fieldPath;
    const value = field === undefined ? variable.value : fields[field];
    if (value === undefined) throw new Error(`the test cannot fill env ${variable.name}`);
    return [variable.name, value];
  }));
}

/** The bundle as `npm run build` makes it (its build:server esbuild command), into a folder of its own. */
async function buildBundle(appDir: string): Promise<void> {
  const scripts = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
  const esbuild = scripts['build:server']!.trim();
  expect(esbuild).toMatch(/^esbuild src\/main\.ts .*--outfile=dist\/main\.mjs/);
  const command = esbuild.replace('--outfile=dist/main.mjs', `--outfile=${join(appDir, 'dist', 'main.mjs')}`);
  await run('sh', ['-c', `PATH="${join(REPO_ROOT, 'node_modules', '.bin')}:$PATH" ${command}`], { cwd: REPO_ROOT, timeout: BUILD_TIMEOUT_MS });
}

describe('members started as the StatefulSet starts them', () => {
  const pods: Pod[] = [];
  let root: string | undefined;
  let clientPort = 0;
  let headless = '';

  beforeAll(async () => {
    const libraries = (await run('/sbin/ldconfig', ['-p'], { timeout: 10_000 })).stdout;
    expect(libraries.includes(NSS_WRAPPER), 'Debian\'s libnss-wrapper is needed: bash .ci/install-nss-wrapper.sh').toBe(true);
    mkdirSync(join(REPO_ROOT, '.vitest-tmp'), { recursive: true });
    root = mkdtempSync(join(REPO_ROOT, '.vitest-tmp', 'statefulset-'));
    const appDir = join(root, 'app');
    await buildBundle(appDir);

    const ips = Array.from({ length: REPLICAS }, (_, i) => `127.0.0.${i + 2}`);
    const [client, peer] = await portPair(ips);
    clientPort = client;
    const [statefulSet] = renderChart(CHART_DIR, { releaseName: 'corral', namespace: NAMESPACE, values: { replicas: REPLICAS, ports: { client, peer } } })
      .filter((object) => object.kind === 'StatefulSet') as any[];
    headless = statefulSet.spec.serviceName;
    const container = statefulSet.spec.template.spec.containers[0];
    const hosts = ips.map((ip, i) => `${ip} corral-${i}.${headless}.${NAMESPACE}.svc.cluster.local`).join('\n');
    writeFileSync(join(root, 'hosts'), `${hosts}\n`);
    const secrets = join(root, 'secrets');
    mkdirSync(secrets);
    writeFileSync(join(secrets, 'cluster-secret'), `${Math.random().toString(36)}-statefulset-test-secret\n`);
    chmodSync(join(secrets, 'cluster-secret'), 0o440); // as a Secret volume with an fsGroup holds it

    for (const [i, ip] of ips.entries()) {
      const name = `${statefulSet.metadata.name}-${i}`;
      const volumes = join(root, name);
      const env = {
        ...containerEnv(container.env, { name, ip }),
        // The volumes and the image's folders, where a pod has them mounted.
        CORRAL_APP_DIR: appDir, CORRAL_DATA_DIR: join(volumes, 'data'), CORRAL_RUN_DIR: join(volumes, 'run'),
        CORRAL_SECRETS_DIR: secrets, CORRAL_TLS_DIR: join(volumes, 'tls'), CORRAL_PEER_TLS_DIR: join(volumes, 'peer-tls'),
        PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, CORRAL_LOG_LEVEL: 'warn',
        LD_PRELOAD: NSS_WRAPPER, NSS_WRAPPER_HOSTS: join(root, 'hosts'),
      };
      mkdirSync(volumes);
      const child = spawn('sh', [join(REPO_ROOT, 'deploy', 'entrypoint.sh')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const pod: Pod = { name, ip, env, child, output: '' };
      child.stdout!.on('data', (chunk: Buffer) => (pod.output += chunk.toString('utf8')));
      child.stderr!.on('data', (chunk: Buffer) => (pod.output += chunk.toString('utf8')));
      pods.push(pod);
    }
  }, BUILD_TIMEOUT_MS + START_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(pods.map((pod) => new Promise<void>((resolve) => {
      if (pod.child.exitCode !== null || pod.child.signalCode !== null) return resolve();
      const timer = setTimeout(resolve, 10_000);
      pod.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      pod.child.kill('SIGKILL');
    })));
    removeDir(root);
  });

  const url = (pod: Pod) => `http://${pod.ip}:${clientPort}`;

  /** The image's HEALTHCHECK command, with the container's environment. */
  async function healthcheck(pod: Pod): Promise<{ code: number; out: string }> {
    try {
      const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'deploy', 'healthcheck.mjs')], { env: pod.env, timeout: 10_000 });
      return { code: 0, out: stdout };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string };
      return { code: typeof failed.code === 'number' ? failed.code : -1, out: failed.stdout ?? '' };
    }
  }

  function alive(): void {
    for (const pod of pods) {
      if (pod.child.exitCode !== null) throw new Error(`${pod.name} exited with ${pod.child.exitCode}: ${pod.output}`);
    }
  }

  it('elect a leader, and every member\'s HEALTHCHECK turns healthy', async () => {
    for (const pod of pods) {
      await waitFor(async () => {
        alive();
        return (await healthcheck(pod)).code === 0;
      }, { timeoutMs: START_TIMEOUT_MS, what: `${pod.name} ready` }).catch((error: Error) => {
        throw new Error(`${error.message}\n${pods.map((p) => `--- ${p.name} printed:\n${p.output}`).join('\n')}`);
      });
    }
    const views = await Promise.all(pods.map(async (pod) => (await http('GET', `${url(pod)}/v1/cluster`)).body));
    const leaders = new Set(views.map((view) => view.leader));
    expect(leaders.size).toBe(1);
    expect([1, 2, 3]).toContain([...leaders][0]);
    expect(views.map((view) => view.self)).toEqual([1, 2, 3]); // corral-<i> is member i + 1
    expect(views[0].members.map((m: { address: string }) => m.address)).toEqual(
      pods.map((pod) => `${pod.name}.${headless}.${NAMESPACE}.svc.cluster.local:${clientPort}`));
  }, START_TIMEOUT_MS + 30_000);

  it('replicate a write made through one member to the others', async () => {
    const created = await http('POST', `${url(pods[1]!)}/v1/znodes/statefulset-test`, 'through corral-1');
    expect(created.status).toBe(201);
    for (const pod of [pods[0]!, pods[2]!]) {
      const read = await waitFor(async () => {
        const reply = await http('GET', `${url(pod)}/v1/znodes/statefulset-test`);
        return reply.status === 200 && reply.body;
      }, { timeoutMs: 20_000, what: `the write on ${pod.name}` });
      expect(read.data).toBe('through corral-1');
    }
  }, 60_000);

  it('report unhealthy through the HEALTHCHECK once a member\'s node is gone', async () => {
    const pod = pods[2]!;
    pod.child.kill('SIGKILL');
    await waitFor(() => pod.child.exitCode !== null || pod.child.signalCode !== null, { timeoutMs: 10_000, what: `${pod.name} to exit` });
    const check = await healthcheck(pod);
    expect(check.code).toBe(1);
    expect(check.out).toMatch(/readyz: .*ECONNREFUSED/);
  }, 30_000);
});

/**
 * The Helm chart (deploy/helm/corral), rendered with its defaults and with every switch on, and
 * the plain manifests generated from it (deploy/kubernetes/corral.yaml): valid against the
 * Kubernetes API schemas (kubernetes-models' validators), and holding what running Corral safely
 * needs: probes, a non-root read-only container, one disruption at a time, parallel start, and the
 * names deploy/entrypoint.sh builds --members from.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderChart } from '../../scripts/helm-render.ts';
import { CHART_DIR, DEPLOY_DIR, MANIFESTS_FILE, manifestsText } from '../../scripts/render-manifests.ts';

type Manifest = Record<string, any>;

const MODELS: Readonly<Record<string, new (data: any) => { validate(): void }>> = {
  'apps/v1 StatefulSet': StatefulSet,
  'v1 Service': Service,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
};

const ALL_ON = {
  replicas: 5,
  tls: { enabled: true },
  peerTls: { enabled: true },
  admin: { enabled: true },
  storage: { storageClassName: 'fast-ssd' },
  extraEnv: [{ name: 'CORRAL_AUTH_REQUIRED', value: 'true' }],
};

const renderings = [
  ['the plain manifests', () => parseAllDocuments(readFileSync(MANIFESTS_FILE, 'utf8')).map((doc) => doc.toJS() as Manifest).filter(Boolean)],
  ['the chart with its defaults', () => renderChart(CHART_DIR, { releaseName: 'corral' })],
  ['the chart with TLS, peer TLS, the admin listener and 5 replicas', () => renderChart(CHART_DIR, { releaseName: 'zk', values: ALL_ON })],
] as const;

function one(objects: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0]!;
}

const containerOf = (set: Manifest) => set.spec.template.spec.containers[0];
const envOf = (set: Manifest) => Object.fromEntries(containerOf(set).env.map((e: Manifest) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));

describe('the Kubernetes manifests and the Helm chart', () => {
  it('keeps deploy/kubernetes/corral.yaml equal to the chart rendered with its defaults (npm run deploy:manifests)', () => {
    expect(readFileSync(MANIFESTS_FILE, 'utf8')).toBe(manifestsText());
  });

  describe.each(renderings)('%s', (_what, render) => {
    const objects = render() as Manifest[];

    it('are objects the Kubernetes API schemas accept', () => {
      expect(objects.map((o) => o.kind).sort()).toEqual(['PodDisruptionBudget', 'Service', 'Service', 'StatefulSet']);
      for (const object of objects) {
        const Model = MODELS[`${object.apiVersion} ${object.kind}`];
        expect(Model, `${object.apiVersion} ${object.kind}`).toBeDefined();
        expect(() => new Model!(object).validate()).not.toThrow();
      }
    });

    it('run the node as a non-root user on a read-only root file system, with no capabilities', () => {
      const set = one(objects, 'StatefulSet');
      const pod = set.spec.template.spec.securityContext;
      expect(pod).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
      expect(containerOf(set).securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      // The image's user is the one the pod names.
      expect(readFileSync(join(DEPLOY_DIR, 'Dockerfile'), 'utf8')).toMatch(/^USER 10001:10001$/m);
    });

    it('probe /readyz for readiness and /healthz for liveness and start-up, on the client port', () => {
      const container = containerOf(one(objects, 'StatefulSet'));
      expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'client' });
      expect(container.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'client' });
      expect(container.startupProbe.httpGet).toMatchObject({ path: '/healthz', port: 'client' });
    });

    it('let one member at a time be disrupted, and start all members together', () => {
      const set = one(objects, 'StatefulSet');
      const pdb = one(objects, 'PodDisruptionBudget');
      expect(pdb.spec.maxUnavailable).toBe(1);
      expect(pdb.spec.selector.matchLabels).toEqual(set.spec.selector.matchLabels);
      // OrderedReady would deadlock: the first pod is not ready until a quorum has started.
      expect(set.spec.podManagementPolicy).toBe('Parallel');
    });

    it('give the entrypoint the names and counts it builds --members from', () => {
      const set = one(objects, 'StatefulSet');
      const headless = one(objects, 'Service', set.spec.serviceName);
      expect(headless.spec.clusterIP).toBe('None');
      expect(headless.spec.publishNotReadyAddresses).toBe(true); // peers find each other before any is ready
      expect(headless.spec.selector).toEqual(set.spec.selector.matchLabels);
      const env = envOf(set);
      expect(env).toMatchObject({
        POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace', POD_IP: 'status.podIP',
        CORRAL_REPLICAS: String(set.spec.replicas), CORRAL_SERVICE: set.spec.serviceName,
      });
      const ports = Object.fromEntries(containerOf(set).ports.map((p: Manifest) => [p.name, p.containerPort]));
      expect(env.CORRAL_PORT).toBe(String(ports.client));
      expect(env.CORRAL_PEER_PORT).toBe(String(ports.peer));
      expect(headless.spec.ports.map((p: Manifest) => p.port).sort()).toEqual([ports.client, ports.peer].sort());
    });

    it('keep each member\'s data on its own volume claim at the image\'s volume, and its secrets in memory', () => {
      const set = one(objects, 'StatefulSet');
      const mounts = Object.fromEntries(containerOf(set).volumeMounts.map((m: Manifest) => [m.name, m]));
      expect(set.spec.volumeClaimTemplates.map((c: Manifest) => c.metadata.name)).toEqual(['data']);
      expect(mounts.data.mountPath).toBe('/var/lib/corral');
      expect(readFileSync(join(DEPLOY_DIR, 'Dockerfile'), 'utf8')).toContain('VOLUME ["/var/lib/corral"]');
      const volumes = Object.fromEntries(set.spec.template.spec.volumes.map((v: Manifest) => [v.name, v]));
      expect(mounts.run.mountPath).toBe('/run/corral');
      expect(volumes.run.emptyDir.medium).toBe('Memory');
      expect(mounts.secrets).toMatchObject({ mountPath: '/etc/corral/secrets', readOnly: true });
      expect(volumes.secrets.secret.defaultMode).toBe(0o440);
      expect(containerOf(set).resources.requests).toBeDefined();
    });
  });

  it('mounts the TLS Secrets where the entrypoint looks and probes over HTTPS when TLS is on', () => {
    const set = one(renderChart(CHART_DIR, { releaseName: 'zk', values: ALL_ON }), 'StatefulSet');
    const container = containerOf(set);
    const mounts = Object.fromEntries(container.volumeMounts.map((m: Manifest) => [m.name, m.mountPath]));
    expect(mounts).toMatchObject({ tls: '/etc/corral/tls', 'peer-tls': '/etc/corral/peer-tls' });
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) expect(container[probe].httpGet.scheme).toBe('HTTPS');
    expect(envOf(set)).toMatchObject({ CORRAL_ADMIN_PORT: '8183', CORRAL_AUTH_REQUIRED: 'true', CORRAL_REPLICAS: '5' });
    expect(set.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('fast-ssd');
  });

  it('probes over plain HTTP and mounts no TLS Secret when TLS is off', () => {
    const container = containerOf(one(renderChart(CHART_DIR, { releaseName: 'corral' }), 'StatefulSet'));
    expect(container.readinessProbe.httpGet.scheme).toBeUndefined();
    expect(container.volumeMounts.map((m: Manifest) => m.name)).not.toContain('tls');
  });
});

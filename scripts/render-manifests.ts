/**
 * Writes deploy/kubernetes/corral.yaml: the Helm chart (deploy/helm/corral) rendered with its
 * default values for a release named `corral`, so `kubectl apply` users and `helm install` users
 * run the same objects. The chart is the one source; test/deploy/manifests.test.ts fails when the
 * file is stale. `npm run deploy:manifests` (`--check` only compares).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { renderChart } from './helm-render.ts';

export const DEPLOY_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', 'deploy');
export const CHART_DIR = join(DEPLOY_DIR, 'helm', 'corral');
export const MANIFESTS_FILE = join(DEPLOY_DIR, 'kubernetes', 'corral.yaml');

const HEADER = [
  '# Generated from deploy/helm/corral (default values, release "corral") by `npm run deploy:manifests`.',
  '# Do not edit: change the chart and run it again. Needs a Secret corral-secrets (docs/operations.md).',
].join('\n');

export function manifestsText(): string {
  const objects = renderChart(CHART_DIR, { releaseName: 'corral' });
  return `${HEADER}\n${objects.map((object) => `---\n${stringify(object)}`).join('')}`;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { check: { type: 'boolean' } } });
  const text = manifestsText();
  if (values.check) {
    const same = readFileSync(MANIFESTS_FILE, 'utf8') === text;
    process.stdout.write(same ? 'deploy/kubernetes/corral.yaml is up to date\n' : 'deploy/kubernetes/corral.yaml is stale: npm run deploy:manifests\n');
    process.exitCode = same ? 0 : 1;
  } else {
    writeFileSync(MANIFESTS_FILE, text);
  }
}

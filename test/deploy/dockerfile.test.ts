/**
 * deploy/Dockerfile read as the image's specification: a build stage and a runtime stage that
 * takes only runtime files, a non-root user, a data volume, and the HEALTHCHECK and ENTRYPOINT
 * that statefulset-start.e2e.test.ts runs (so the commands tested are the image's commands).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOY_DIR } from '../../scripts/render-manifests.ts';

const dockerfile = readFileSync(join(DEPLOY_DIR, 'Dockerfile'), 'utf8');
/** Instructions, one a line (continuations joined, comments dropped). */
const instructions = dockerfile.replace(/\\\n\s*/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
const stages: string[][] = [];
for (const line of instructions) {
  if (line.startsWith('FROM ')) stages.push([line]);
  else stages.at(-1)?.push(line);
}
const runtime = stages.at(-1)!;

describe('deploy/Dockerfile', () => {
  it('builds in one stage and runs from another', () => {
    expect(stages).toHaveLength(2);
    expect(stages[0]![0]).toMatch(/ AS build$/);
    expect(stages[0]!.join('\n')).toMatch(/npm ci/);
    expect(stages[0]!.join('\n')).toMatch(/npm run build/);
    expect(stages[0]!.join('\n')).toMatch(/npm prune --omit=dev/);
  });

  it('takes only runtime files into the runtime stage', () => {
    const copies = runtime.filter((line) => line.startsWith('COPY '));
    expect(copies).toEqual([
      'COPY --from=build /src/package.json /src/openapi.yaml ./',
      'COPY --from=build /src/node_modules ./node_modules',
      'COPY --from=build /src/dist ./dist',
      'COPY deploy/entrypoint.sh deploy/healthcheck.mjs ./deploy/',
    ]);
  });

  it('runs as a fixed non-root user with its data in a volume', () => {
    expect(runtime).toContain('USER 10001:10001');
    expect(runtime).toContain('VOLUME ["/var/lib/corral"]');
    expect(runtime.join('\n')).toMatch(/CORRAL_DATA_DIR=\/var\/lib\/corral\/data/);
  });

  it('checks health with deploy/healthcheck.mjs and starts through deploy/entrypoint.sh', () => {
    expect(runtime.find((line) => line.startsWith('HEALTHCHECK '))).toMatch(/CMD \["node", "\/app\/deploy\/healthcheck\.mjs"\]$/);
    expect(runtime).toContain('ENTRYPOINT ["/app/deploy/entrypoint.sh"]');
    expect(runtime).toContain('WORKDIR /app');
  });

  it('leaves dependencies, builds and the repository out of the build context', () => {
    const ignored = readFileSync(join(DEPLOY_DIR, 'Dockerfile.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', 'dist', '.git', 'data']) expect(ignored).toContain(entry);
  });
});

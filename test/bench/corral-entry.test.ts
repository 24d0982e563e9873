import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeFlagsOf } from '../../bench/targets/corral.ts';

describe('nodeFlagsOf', () => {
  it('takes the node flags of a start script, in order', () => {
    expect(nodeFlagsOf('npm run build --silent && node --max-semi-space-size=32 --enable-source-maps dist/main.mjs'))
      .toEqual(['--max-semi-space-size=32', '--enable-source-maps']);
  });

  it('answers none when node gets no flags, or the script runs something else', () => {
    expect(nodeFlagsOf('npm run build --silent && node dist/main.mjs')).toEqual([]);
    expect(nodeFlagsOf('tsx src/main.ts')).toEqual([]);
  });

  it('finds the young-generation flag in this repository\'s npm start (what the bench runs)', () => {
    const { scripts } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
    expect(nodeFlagsOf(scripts.start)).toContain('--max-semi-space-size=32');
  });
});

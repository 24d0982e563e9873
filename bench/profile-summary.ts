/**
 * Prints the top self-time functions (and the top files/packages) of V8 .cpuprofile files, as
 * written by `node --cpu-prof`. Percentages are of busy time: (idle) is counted but excluded.
 *
 *   npx tsx bench/profile-summary.ts [--top N] FILE.cpuprofile|DIR ...
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const IDLE = '(idle)';
const REPO = process.cwd();

/** Self time in µs per node id: each sample lasts until the next one. */
export function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const duration = i + 1 < samples.length ? timeDeltas[i + 1]! : 0;
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + Math.max(0, duration));
  }
  return self;
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  const inModules = path.lastIndexOf('/node_modules/');
  if (inModules !== -1) return path.slice(inModules + '/node_modules/'.length);
  // A profile of another checkout (--corral-root) names its files from their src/ too.
  const inSrc = path.lastIndexOf('/src/');
  if (inSrc !== -1 && !path.startsWith(`${REPO}/`)) return path.slice(inSrc + 1);
  return path.startsWith('/') ? relative(REPO, path) : path;
}

/** Where a function lives, coarsely: an npm package, a file of ours, node's internals, or V8. */
function moduleOf(frame: CallFrame): string {
  const url = shortUrl(frame.url);
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return 'node: internals';
  if (frame.url.includes('/node_modules/')) {
    const parts = url.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return url;
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

function profileFiles(inputs: readonly string[]): string[] {
  return inputs.flatMap((input) => (statSync(input).isDirectory()
    ? readdirSync(input).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(input, f))
    : [input]));
}

function table(title: string, entries: Map<string, number>, busyUs: number, top: number): string[] {
  const rows = [...entries].filter(([key]) => key !== IDLE).sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    title, '', '| self ms | % busy | where |', '|--:|--:|---|',
    ...rows.map(([key, us]) => `| ${(us / 1000).toFixed(0)} | ${((100 * us) / busyUs).toFixed(1)} | ${key.replaceAll('|', '\\|')} |`),
    '',
  ];
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string' } }, allowPositionals: true });
  const top = Number(values.top ?? 25);
  const files = profileFiles(positionals);
  if (files.length === 0) {
    process.stderr.write('usage: npx tsx bench/profile-summary.ts [--top N] FILE.cpuprofile|DIR ...\n');
    process.exitCode = 2;
    return;
  }
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  const perFile: string[] = [];
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    let fileTotalUs = 0;
    let fileIdleUs = 0;
    for (const [id, us] of selfTimes(profile)) {
      const frame = frames.get(id)!;
      totalUs += us;
      fileTotalUs += us;
      if (frame.functionName === IDLE) {
        idleUs += us;
        fileIdleUs += us;
        continue;
      }
      const url = shortUrl(frame.url);
      // tsx emits each module on few lines: the column is what tells two functions apart.
      add(byFunction, `${frame.functionName || '(anonymous)'}${url ? ` ${url}:${frame.lineNumber + 1}:${frame.columnNumber + 1}` : ''}`, us);
      add(byModule, moduleOf(frame), us);
    }
    const busy = fileTotalUs - fileIdleUs;
    perFile.push(`- ${file}: ${(fileTotalUs / 1e6).toFixed(1)} s sampled, busy ${(busy / 1e6).toFixed(1)} s (${((100 * busy) / Math.max(1, fileTotalUs)).toFixed(0)}%)`);
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  const lines = [
    `${files.length} profile(s): ${(totalUs / 1e6).toFixed(1)} s sampled, ${(busyUs / 1e6).toFixed(1)} s busy (${((100 * busyUs) / Math.max(1, totalUs)).toFixed(0)}%)`,
    ...perFile, '',
    ...table(`Top ${top} functions by self time`, byFunction, busyUs, top),
    ...table(`Top ${top} files and packages by self time`, byModule, busyUs, top),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();

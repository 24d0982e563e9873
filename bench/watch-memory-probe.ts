/**
 * What one idle /v1/watch stream costs the server: an in-process node, N streams opened over
 * raw sockets by a child process, then the heap (after a GC) and RSS per stream, and the
 * object kinds whose counts grew by about N (a heap snapshot before and after).
 *
 *   node --expose-gc --import tsx bench/watch-memory-probe.ts [N]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapSnapshot } from 'node:v8';
import { startServer } from '../src/server.ts';

const count = Number(process.argv[2] ?? 2000);

async function countsByKind(): Promise<Map<string, { n: number; bytes: number }>> {
  const chunks: Buffer[] = [];
  for await (const chunk of getHeapSnapshot()) chunks.push(chunk as Buffer);
  const snap = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const types = snap.snapshot.meta.node_types[0];
  const out = new Map<string, { n: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const key = type === 'object' || type === 'closure' ? `${type}:${snap.strings[snap.nodes[i + nameAt]!]}` : type;
    const e = out.get(key) ?? { n: 0, bytes: 0 };
    e.n++;
    e.bytes += snap.nodes[i + sizeAt]!;
    out.set(key, e);
  }
  return out;
}

const settle = async () => {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
};

const dataDir = mkdtempSync(join(tmpdir(), 'corral-memprobe-'));
const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', maxStreams: count + 100, maxStreamsPerCaller: 0, maxConnectionsPerAddress: 0 } as never);
const port = Number(new URL(server.url).port);
await fetch(`${server.url}/v1/znodes/probe`, { method: 'POST', body: '' });
await settle();
const before = { heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss, kinds: await countsByKind() };
const child = fork(fileURLToPath(new URL('./workloads/watch-scale-subscribers.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], serialization: 'advanced' });
const opened = await new Promise<number>((resolve, reject) => {
  child.once('message', (r: { ok: boolean; opened?: number; error?: string }) => (r.ok ? resolve(r.opened ?? 0) : reject(new Error(r.error))));
  child.send({ id: 1, cmd: 'open', endpoints: { kind: 'corral', ports: [port] }, path: '/probe', count });
});
await settle();
const after = { heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss, kinds: await countsByKind() };
console.log(`${opened} streams: heap ${((after.heap - before.heap) / 1024 / opened).toFixed(2)} KB, RSS ${((after.rss - before.rss) / 1024 / opened).toFixed(2)} KB per stream`);
const grown = [...after.kinds].map(([k, v]) => ({ k, n: v.n - (before.kinds.get(k)?.n ?? 0), bytes: v.bytes - (before.kinds.get(k)?.bytes ?? 0) }))
  .filter((g) => g.bytes > opened * 40).sort((a, b) => b.bytes - a.bytes).slice(0, 30);
for (const g of grown) console.log(`${(g.bytes / opened).toFixed(0).padStart(6)} B/stream  ${(g.n / opened).toFixed(2).padStart(6)} per stream  ${g.k}`);
child.kill();
await server.close();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);

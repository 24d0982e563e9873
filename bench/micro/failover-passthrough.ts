/**
 * `npx tsx bench/micro/failover-passthrough.ts`: what the typed client's failover fetch
 * (src/client/failover.ts) costs per call on top of the fetch it wraps, and how much of that is
 * the body pass-through (`holding`: a TransformStream that keeps the caller's Request, and so
 * its abort signal, reachable while the body is read — only when the input is a Request, as
 * openapi-fetch sends, and since this measure only for a body read over time). The wrapped fetch is an in-memory stub answering a fresh Response, so
 * only the client's own CPU is measured, with no socket: (a) the stub alone, (b) failover with a
 * URL input (nothing held), (c) failover with a Request input and a sized answer (the Request
 * held by a property since the pass-through was limited to streams), (f) the same with an
 * event stream (the pass-through stream); and, to tell the parts apart, (d) the stub given a
 * Request made per call (what building the Request costs) and (e) the stub's answer piped
 * through a pass-through TransformStream as `holding` does for streams. Bodies: a
 * Corral-sized getData answer and 64 KiB. Prints µs of CPU per call, three rounds after a warm-up.
 */
import { Failover } from '../../src/client/failover.ts';

const BASE = 'http://127.0.0.1:1';
const SMALL = JSON.stringify({
  path: '/bench-s/n1', data: 'x'.repeat(64), encoding: 'utf8',
  stat: { czxid: '4294967300', mzxid: '4294967301', pzxid: '4294967300', ctime: 1, mtime: 1, version: 1, cversion: 0, aversion: 0, ephemeralOwner: '0', dataLength: 64, numChildren: 0 },
});
const LARGE = 'y'.repeat(64 * 1024);
const CALLS_PER_ROUND = 20_000;

async function measure(label: string, call: () => Promise<Response>): Promise<string> {
  const round = async (calls: number): Promise<number> => {
    const started = process.cpuUsage();
    for (let i = 0; i < calls; i++) await (await call()).arrayBuffer();
    const used = process.cpuUsage(started);
    return (used.user + used.system) / calls;
  };
  await round(CALLS_PER_ROUND / 4);
  const rounds = [await round(CALLS_PER_ROUND), await round(CALLS_PER_ROUND), await round(CALLS_PER_ROUND)];
  return `${label.padEnd(50)} ${rounds.map((us) => us.toFixed(2)).join(' / ')} µs of CPU per call`;
}

/** What failover.ts's `holding` does to a body, without the Request it holds. */
function passThrough(response: Response): Response {
  const body = response.body!.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ transform: (chunk, controller) => controller.enqueue(chunk) }));
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

for (const [name, body] of [['getData-64 answer', SMALL], ['64 KiB answer', LARGE]] as const) {
  // Sized, as a node's JSON answers are; and the same bytes as an unsized event stream.
  const stub: typeof fetch = async () => new Response(body, { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(body.length) } });
  const streamStub: typeof fetch = async () => new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  const failover = new Failover({ urls: [BASE], fetch: stub });
  const streaming = new Failover({ urls: [BASE], fetch: streamStub });
  const url = `${BASE}/v1/znodes/bench-s/n1`;
  console.log(`${name} (${body.length} bytes):`);
  console.log(await measure('  (a) the wrapped fetch alone', () => stub(url)));
  console.log(await measure('  (b) failover, URL input (no pass-through)', () => failover.fetch(url)));
  console.log(await measure('  (c) failover, Request input, sized answer', () => failover.fetch(new Request(url))));
  console.log(await measure('  (f) failover, Request input, event stream', () => streaming.fetch(new Request(url))));
  console.log(await measure('  (d) the wrapped fetch, a Request made per call', () => stub(new Request(url))));
  console.log(await measure('  (e) the wrapped fetch, body piped through', async () => passThrough(await stub(url))));
}

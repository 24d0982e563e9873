/**
 * What many browser subscribers through gateways cost the ensemble (issue 20, item 4), read from
 * ZooKeeper's own side (`mntr`: zk_watch_count, zk_num_alive_connections) of a real ZooKeeper 3.8:
 * the session-less `/v1/watch` subscribers of one path on a gateway share its one ZooKeeper
 * connection and its one watch of that path, so 200 subscribers spread over two gateways cost the
 * ensemble two watches (one per gateway) and no connection beyond the gateways' own, and each
 * event still reaches every one of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../../src/backend/zookeeper/gateway-server.ts';
import { ZooKeeperEnsemble } from '../../../bench/servers/zookeeper-server.ts';
import { makeTempDir, removeTempDir } from '../../../bench/servers/managed-process.ts';
import { SseStream } from '../../http/sse-reader.ts';
import { waitFor } from '../../support/corral-process.ts';
import { GATEWAY_KEY } from './gateway-test-node.ts';

// Even, so the two gateways get half each. FANOUT_SUBSCRIBERS=10000 runs the same check at the
// issue's scale (a measurement recorded in BENCHMARKS.md; needs `ulimit -n` above 2 × N).
const SUBSCRIBERS = 2 * Math.ceil(Math.min(20_000, Number(process.env['FANOUT_SUBSCRIBERS'] ?? 200)) / 2);
const OPEN_PARALLEL = 20;

/** The ensemble's counters this test reads, from `mntr` (the bench's ZooKeeper allows it). */
async function ensembleCounters(zk: ZooKeeperEnsemble): Promise<{ watches: number; connections: number }> {
  const text = await zk.mntr();
  const value = (name: string) => Number(new RegExp(`^${name}\\s+(\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { watches: value('zk_watch_count'), connections: value('zk_num_alive_connections') };
}

describe('SSE subscribers through a gateway, as the ensemble sees them', () => {
  let work: string;
  let zk: ZooKeeperEnsemble;
  let gateway: RunningGateway;
  let other: RunningGateway;
  const streams: SseStream[] = [];

  beforeAll(async () => {
    work = makeTempDir('corral-gateway-fanout-');
    zk = await ZooKeeperEnsemble.create(1, work);
    await zk.start();
    // One test address holds every subscriber: the per-caller and per-address limits are off.
    const options = {
      host: '127.0.0.1', port: 0, backend: `zookeeper://127.0.0.1:${zk.clientPorts[0]}`, gatewayKey: GATEWAY_KEY,
      maxStreams: SUBSCRIBERS, maxStreamsPerCaller: 0, maxConnectionsPerAddress: 0,
    };
    gateway = await startGateway(options);
    other = await startGateway(options);
  }, 120_000);

  afterAll(async () => {
    for (const s of streams) s.abort();
    await gateway?.close();
    await other?.close();
    await zk?.remove();
    if (work) removeTempDir(work);
  });

  const subscribe = async (through: RunningGateway) => {
    const stream = await SseStream.open(`${through.url}/v1/watch/fanout`, { controller: new AbortController() });
    streams.push(stream);
    expect(stream.status).toBe(200);
  };

  it(`costs the ensemble one watch per gateway and no connection beyond the gateways' own for ${SUBSCRIBERS} subscribers of one path`, async () => {
    const created = await fetch(`${gateway.url}/v1/znodes/fanout`, { method: 'POST', body: '', signal: AbortSignal.timeout(10_000) });
    expect(created.status).toBe(201);
    const before = await ensembleCounters(zk);
    expect(Number.isFinite(before.watches) && Number.isFinite(before.connections), 'mntr answered').toBe(true);

    await subscribe(gateway);
    const one = await waitFor(async () => {
      const now = await ensembleCounters(zk);
      return now.watches > before.watches ? now : undefined;
    }, { timeoutMs: 10_000, what: 'the first subscriber\'s ZooKeeper watch' });
    expect(one.connections).toBe(before.connections);
    // One persistent addWatch, which ZooKeeper counts in its data and its child watch tables.
    expect(one.watches - before.watches).toBe(2);

    // The rest alternate between the two gateways.
    for (let opened = 1; opened < SUBSCRIBERS; opened += OPEN_PARALLEL) {
      await Promise.all(Array.from({ length: Math.min(OPEN_PARALLEL, SUBSCRIBERS - opened) }, (_, i) => subscribe(i % 2 === 0 ? other : gateway)));
    }
    await waitFor(() => (gateway.backend.changes.subscribers + other.backend.changes.subscribers === SUBSCRIBERS ? true : undefined),
      { timeoutMs: 10_000, what: `${SUBSCRIBERS} subscribers` });
    expect(other.backend.changes.subscribers).toBe(SUBSCRIBERS / 2);
    // Every subscriber is live: one write reaches all of them.
    const written = await fetch(`${gateway.url}/v1/znodes/fanout`, { method: 'PUT', body: 'changed', signal: AbortSignal.timeout(10_000) });
    expect(written.status).toBe(200);
    await Promise.all(streams.map((s) => s.until(() => s.watchEvents().length >= 1, 10_000, 'the event')));
    for (const s of streams) expect(s.watchEvents()).toEqual(['NodeDataChanged /fanout']);

    // The second gateway's watch of the path, and nothing per subscriber.
    expect(await ensembleCounters(zk)).toEqual({ watches: one.watches + (one.watches - before.watches), connections: before.connections });
  }, 60_000 + SUBSCRIBERS * 10);
});

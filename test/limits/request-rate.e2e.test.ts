// Requests per second per caller (src/http/limits/request-rate.ts), checked in the authenticate
// step every carrier runs: plain znode reads on the wire path and the Hono app's routes alike
// are refused with 429 and Retry-After past the caller's bucket, counted in the metrics, while
// another caller and the probes are served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '../support/corral-process.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { LimitsClient } from './limits-client.ts';

const RATE = 5;
let server: RunningServer;
let dataDir: string;
let client: LimitsClient;

beforeAll(async () => {
  dataDir = makeTempDir('corral-rate-');
  server = await startServer({ dataDir, port: 0, host: '127.0.0.1', maxRequestsPerSecondPerCaller: RATE, requestBurstPerCaller: RATE });
  client = new LimitsClient(server.url);
});
afterAll(async () => {
  client?.closeAll();
  await server?.close();
  removeDir(dataDir);
});

describe('requests per second per caller', () => {
  it('refuses a caller past its burst with 429 THROTTLEDOP and Retry-After on every carrier, while another caller and the probes are served', async () => {
    const before = await client.refusals('requests_per_caller', '127.0.0.3');
    const started = performance.now();
    const answers = [];
    // Plain reads (the direct path) and session opens (the Hono app), back to back.
    for (let i = 0; i < 4 * RATE; i++) {
      answers.push(await client.send('GET', '/v1/znodes', { from: '127.0.0.1' }));
      answers.push(await client.send('POST', '/v1/sessions', { from: '127.0.0.1', body: { timeoutMs: 4000 } }));
    }
    const elapsedS = (performance.now() - started) / 1000;
    const allowedMax = RATE + Math.ceil(elapsedS * RATE);
    const ok = answers.filter((a) => a.status !== 429);
    const refused = answers.filter((a) => a.status === 429);
    expect(ok.length).toBeGreaterThanOrEqual(RATE);
    expect(ok.length).toBeLessThanOrEqual(allowedMax);
    for (const r of refused) {
      expect(r.body).toMatchObject({ code: 'THROTTLEDOP' });
      expect(r.headers['retry-after']).toMatch(/^\d+$/);
      // Not an invitation to send credentials: the caller's were fine.
      expect(r.headers['www-authenticate']).toBeUndefined();
    }
    expect(refused.some((r) => r.body.message.includes('requests a second'))).toBe(true);
    expect(new Set(refused.map((r) => r.status))).toEqual(new Set([429]));
    expect(await client.refusals('requests_per_caller', '127.0.0.3')).toBe(before + refused.length);

    expect((await client.send('GET', '/v1/znodes', { from: '127.0.0.2' })).status).toBe(200);
    expect((await client.send('GET', '/healthz', { from: '127.0.0.1' })).status).toBe(200);
  });
});

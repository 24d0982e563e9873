/**
 * A client that closes its connection mid-request is not the node failing: the request is
 * counted with status 499, never 500, and logged at debug level without a stack trace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/server.ts';
import { exchange, HAND_OFF, parseReplies, rawRequest } from './raw-http.ts';

let server: RunningServer;
let port: number;
let dir: string;
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-abort-'));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  server = await startServer({ host: '127.0.0.1', port: 0, dataDir: dir, logger: pino({ level: 'debug' }, sink) });
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends `first` and waits for its answer (so node:http has the connection), then half a body, then hangs up. */
function abortMidBody(first: string, partial: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(first));
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer to the first request'));
    }, 5000);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (parseReplies(received).length !== 1) return;
      clearTimeout(timer);
      socket.write(partial, () => {
        socket.destroy();
        resolve();
      });
    });
    socket.on('error', reject);
  });
}

/** The request counter for `method` on the znodes route, by status. */
async function countsOf(method: string): Promise<Record<string, number>> {
  const [reply] = await exchange(port, [rawRequest('GET', '/metrics')]);
  const pattern = new RegExp(`corral_http_requests_total\\{method="${method}",route="/v1/znodes/\\*",status="(\\d+)"\\} (\\d+)`, 'g');
  return Object.fromEntries([...reply!.text.matchAll(pattern)].map((m) => [m[1]!, Number(m[2])]));
}

async function eventually(check: () => Promise<boolean>, boundMs = 5000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${boundMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const partialPut = (headers: Record<string, string>) =>
  `${rawRequest('PUT', '/v1/znodes/gone', { ...headers, 'Content-Length': '1000' }).replace(/Content-Length: 0\r\n/, '')}only ten b`;

describe('a client that hangs up mid-request', () => {
  it.each([
    ['node:http\'s direct path', 'PUT', {}],
    ['the Hono app', 'PUT', { Origin: 'http://127.0.0.1' }],
  ] as const)('on %s is counted as 499, not 500, and logged at debug level without a stack', async (_carrier, method, headers) => {
    const before = logLines.length;
    const abandonedBefore = (await countsOf(method))['499'] ?? 0;
    await abortMidBody(HAND_OFF, partialPut(headers));
    await eventually(async () => ((await countsOf(method))['499'] ?? 0) === abandonedBefore + 1);
    expect(await countsOf(method)).not.toHaveProperty('500');
    const lines = logLines.slice(before);
    expect(lines.filter((line) => (line.level as number) >= 50)).toEqual([]);
    const aborted = lines.filter((line) => line.event === 'client-aborted');
    expect(aborted.length).toBeGreaterThan(0);
    for (const line of aborted) {
      expect(line.level).toBe(20);
      expect(JSON.stringify(line)).not.toMatch(/stack|\n\s+at /);
    }
    // The node still answers.
    expect((await exchange(port, [rawRequest('GET', '/healthz')]))[0]!.status).toBe(200);
  });

  it.each([
    ['node:http\'s direct path', {}],
    ['the Hono app', { Origin: 'http://127.0.0.1' }],
  ] as const)('on %s logs its URL without the token or ticket it carried', async (_carrier, headers) => {
    const before = logLines.length;
    const request = partialPut(headers).replace('PUT /v1/znodes/gone ', 'PUT /v1/znodes/gone?token=s3cr3t-token&ticket=t1ck3t ');
    await abortMidBody(HAND_OFF, request);
    await eventually(async () => logLines.slice(before).some((line) => line.event === 'client-aborted'));
    const logged = JSON.stringify(logLines.slice(before));
    expect(logged).toContain('token=REDACTED');
    expect(logged).not.toContain('s3cr3t-token');
    expect(logged).not.toContain('t1ck3t');
  });
});

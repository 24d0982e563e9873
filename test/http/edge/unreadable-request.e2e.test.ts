/**
 * Requests @hono/node-server cannot make a Request of (a backslash in the path, a Host a URL
 * cannot hold) are answered with the contract's error body and 400, like every other refusal,
 * never its bare, bodiless 400.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../../src/server.ts';
import { exchange, HAND_OFF, rawRequest } from './raw-http.ts';

describe('a request the HTTP adapter cannot read', () => {
  let server: RunningServer;
  let port: number;
  const dir = mkdtempSync(join(tmpdir(), 'corral-unreadable-'));
  beforeAll(async () => {
    // Any Host allowed: the adapter, not the host guard, is what refuses these.
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: dir, allowedHosts: ['*'] });
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases = [
    { what: 'a backslash in a session path', request: rawRequest('GET', '/v1/sessions\\x') },
    { what: 'a Host a URL cannot hold', request: rawRequest('GET', '/v1/sessions', { Host: 'a_b:c:d' }) },
  ];
  it.each(cases)('answers $what with 400 BADARGUMENTS and an error body', async ({ request }) => {
    // After a hand-off, so node:http (not the wire path) has the connection.
    const replies = await exchange(port, [HAND_OFF, request]);
    const reply = replies.at(-1)!;
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ code: 'BADARGUMENTS' });
    expect(reply.json.message).toMatch(/could not be read/);
  });
});

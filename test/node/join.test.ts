/**
 * `--join`: a new member reads the cluster from a running member's /v1/cluster (injected fetch
 * here; with real processes: test/cluster/membership.e2e.test.ts), adds its own entry, and
 * refuses to start on an answer it cannot use; the flag's rules are checked with the others.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, loadConfig, parseMembers } from '../../src/config.ts';
import { JOIN_BODY_BYTES_MAX, membersOfView, resolveJoin } from '../../src/node/join.ts';

const VIEW = {
  self: 1, role: 'leader', leader: 1, epoch: 2, lastZxid: '9', commitZxid: '9',
  members: [
    { id: 1, address: '127.0.0.1:8181', peer: '127.0.0.1:9181', role: 'leader', lag: 0, connected: true },
    { id: 2, address: '127.0.0.1:8182', peer: '127.0.0.1:9182', role: 'follower', lag: 0, connected: true },
    { id: 3, address: '127.0.0.1:8183', peer: '127.0.0.1:9183', role: 'observer', lag: 0, connected: true },
  ],
};

const joiner = defaultConfig({ id: 4, join: '127.0.0.1:8181', role: 'observer', clusterSecret: 'a cluster secret for tests', members: parseMembers('4=127.0.0.1:8184/127.0.0.1:9184/observer') });

describe('--join', () => {
  it('starts with the members a running member names, and its own entry', async () => {
    const asked: string[] = [];
    const fetchStub = (async (url: string) => {
      asked.push(url);
      return new Response(JSON.stringify(VIEW), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    const config = await resolveJoin(joiner, { fetch: fetchStub });
    expect(asked).toEqual(['http://127.0.0.1:8181/v1/cluster']);
    expect(config.members).toEqual([
      { id: 1, client: '127.0.0.1:8181', peer: { host: '127.0.0.1', port: 9181 } },
      { id: 2, client: '127.0.0.1:8182', peer: { host: '127.0.0.1', port: 9182 } },
      { id: 3, client: '127.0.0.1:8183', peer: { host: '127.0.0.1', port: 9183 }, observer: true },
      { id: 4, client: '127.0.0.1:8184', peer: { host: '127.0.0.1', port: 9184 }, observer: true },
    ]);
  });

  it('gives up, saying why, when the member does not answer within the bound', async () => {
    const failing = (async () => {
      throw new Error('connect ECONNREFUSED');
    }) as unknown as typeof fetch;
    await expect(resolveJoin(joiner, { fetch: failing, timeoutMs: 50, retryMs: 10 })).rejects.toThrow(/did not answer with the cluster \(connect ECONNREFUSED\)/);
  });

  it('refuses an answer larger than the bound, reading no further than it', async () => {
    let pulled = 0;
    const chunk = new TextEncoder().encode(`{"members":[${' '.repeat(16 * 1024)}`);
    const endless = (async () => new Response(new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk.length;
        controller.enqueue(chunk);
      },
    }), { status: 200 })) as unknown as typeof fetch;
    await expect(resolveJoin(joiner, { fetch: endless, timeoutMs: 5000, retryMs: 10 })).rejects.toThrow(/larger than 262144 bytes/);
    expect(pulled).toBeLessThanOrEqual(JOIN_BODY_BYTES_MAX + 2 * chunk.length);
  });

  it('refuses at once an answer whose declared length is over the bound', async () => {
    const declared = (async () => new Response('{}', { status: 200, headers: { 'content-length': String(JOIN_BODY_BYTES_MAX + 1) } })) as unknown as typeof fetch;
    await expect(resolveJoin(joiner, { fetch: declared, timeoutMs: 5000, retryMs: 10 })).rejects.toThrow(/larger than/);
  });

  it('gives up within the bound when the answer\'s body stalls', async () => {
    const stalled = (async () => new Response(new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"members":['));
      },
    }), { status: 200 })) as unknown as typeof fetch;
    const started = Date.now();
    await expect(resolveJoin(joiner, { fetch: stalled, timeoutMs: 300, retryMs: 10 })).rejects.toThrow(/did not answer with the cluster/);
    expect(Date.now() - started).toBeLessThan(3000);
  }, 10_000);

  it.each([
    ['its own id already taken', { members: [{ id: 4, address: '127.0.0.1:1', peer: '127.0.0.1:2', role: 'follower' }] }, /already in the cluster/],
    ['no peer addresses (an older member)', { members: [{ id: 1, address: '127.0.0.1:1', role: 'leader' }] }, /no peer address for member 1/],
    ['no members', { members: [] }, /no list of members/],
  ])('refuses an answer with %s', (_what, view, message) => {
    expect(() => membersOfView(view, 4)).toThrow(message);
  });

  it('needs this member\'s own entry as a learner, and a cluster secret or peer TLS', () => {
    const argv = (...extra: string[]) => ['--id', '4', '--join', '127.0.0.1:8181', ...extra];
    expect(() => loadConfig(argv('--members', '4=127.0.0.1:8184/127.0.0.1:9184', '--cluster-secret', 'a cluster secret for tests'), {}))
      .toThrow(ConfigError);
    expect(() => loadConfig(argv('--role', 'observer', '--members', '4=127.0.0.1:8184/127.0.0.1:9184/observer'), {})).toThrow(/--cluster-secret/);
    const ok = loadConfig(argv('--role', 'observer', '--members', '4=127.0.0.1:8184/127.0.0.1:9184/observer', '--cluster-secret', 'a cluster secret for tests'), {});
    expect(ok?.join).toBe('127.0.0.1:8181');
  });
});

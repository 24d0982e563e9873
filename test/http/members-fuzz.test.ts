/**
 * Throws random and hostile requests at the membership routes (/v1/cluster/members…) of a node
 * that can change its membership — one voter (it leads alone) and one observer that never runs,
 * joined by a peer secret — and checks that every answer is a declared response with the
 * contract's error body: never a 500 (a 503 only for a change not committed in time), never a crash. The node is the superuser's, so the requests
 * reach the bodies and the changes (the operators' rule has tests of its own). Replay a failure
 * with FUZZ_SEED=<seed>.
 *
 * Bounded: the member ids come from a small pool (at most a handful of learners, each dialed at a
 * loopback port where nothing listens), and every body that names a timeout names a short or an
 * invalid one, so a promotion of a learner that never catches up is refused within
 * milliseconds. A body without `timeoutMs` (the 30 s default) is left to cluster-members.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/auth/digest.ts';
import { freePort, waitFor } from '../support/corral-process.ts';
import { validateResponse } from '../support/openapi.ts';
import { Prng, seedFrom } from '../support/prng.ts';
import { startTestNode, type TestNode } from '../support/test-node.ts';

const REQUESTS = Number(process.env.FUZZ_MEMBER_REQUESTS ?? 600);
const SUPER = { authorization: `Basic ${Buffer.from('super:test').toString('base64')}` };
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'];
const ID_SEGMENTS = ['1', '2', '3', '7', '0', '-1', '01', '1.5', '1e3', 'two', '%20', '%00', '%ZZ', '',
  '9007199254740991', '9007199254740992', '9'.repeat(17), 'x'.repeat(300)];
const ACTIONS = ['', '/promote', '/replace', '/promote/', '/replace/x', '/leader', '/%2e%2e'];
const IDS: readonly unknown[] = [1, 2, 3, 7, 0, -1, 1.5, 2 ** 53 - 1, 2 ** 53, 1e308, '3', null, true, [], {}];
// Loopback only (no lookups, no traffic off the machine), at ports where nothing listens.
const ADDRESSES: readonly unknown[] = ['127.0.0.1:1', '127.0.0.1:7', '[::1]:9', 'localhost:1', '127.0.0.1:0', '127.0.0.1:65536',
  '127.0.0.1', ':1', '[::1', 'a b:1', '', ' 127.0.0.1:1 ', 'x'.repeat(2000), 5, null, ['127.0.0.1:1'], { host: '127.0.0.1' }];
const TIMEOUTS: readonly unknown[] = [1, 5, 20, 0, -1, 1.5, 300_001, 1e300, '10', null];
const FLAGS: readonly unknown[] = [true, false, 'false', 0, null];

/** Mostly a route's own method and path (a valid id more often than not), sometimes anything. */
function randomRequest(rng: Prng): { method: string; url: string } {
  const id = rng.chance(0.7) ? rng.pick(['1', '2', '3', '7']) : rng.pick(ID_SEGMENTS);
  switch (rng.int(6)) {
    case 0: return { method: rng.pick(['GET', 'HEAD']), url: rng.pick(['/v1/cluster/members', '/v1/cluster/members/']) };
    case 1: return { method: 'POST', url: '/v1/cluster/members' };
    case 2: return { method: 'POST', url: `/v1/cluster/members/${id}/promote` };
    case 3: return { method: 'DELETE', url: `/v1/cluster/members/${id}` };
    case 4: return { method: 'POST', url: `/v1/cluster/members/${id}/replace` };
    default: return { method: rng.pick(METHODS), url: `/v1/cluster/members/${rng.pick(ID_SEGMENTS)}${rng.pick(ACTIONS)}` };
  }
}

function randomChange(rng: Prng): Record<string, unknown> {
  const change: Record<string, unknown> = { timeoutMs: rng.chance(0.6) ? 5 : rng.pick(TIMEOUTS) };
  if (rng.chance(0.9)) change.id = rng.chance(0.6) ? rng.pick([2, 3, 7]) : rng.pick(IDS);
  if (rng.chance(0.9)) change.client = rng.chance(0.6) ? '127.0.0.1:1' : rng.pick(ADDRESSES);
  if (rng.chance(0.9)) change.peer = rng.chance(0.6) ? '127.0.0.1:1' : rng.pick(ADDRESSES);
  if (rng.chance(0.5)) change.promote = rng.pick(FLAGS);
  if (rng.chance(0.1)) change[rng.pick(['constructor', 'toString', 'extra'])] = rng.pick(IDS);
  return change;
}

function randomBody(rng: Prng): string | Uint8Array | undefined {
  switch (rng.int(8)) {
    case 0: return undefined;
    case 1: return rng.bytes(rng.int(64));
    case 2: return rng.pick(['{', '[]', 'null', '"x"', '', '{"timeoutMs":5', '[{"id":2}]', '{"id":2}'.repeat(3),
      '{"__proto__":{"id":3,"client":"127.0.0.1:1","peer":"127.0.0.1:1"},"timeoutMs":5}', '{"id":3,"id":"3","timeoutMs":5}']);
    case 3: return `{"timeoutMs":5,"id":2,"client":"127.0.0.1:1","peer":"${'p'.repeat(5000)}"}`; // past the body limit
    default: return JSON.stringify(randomChange(rng));
  }
}

describe('the membership routes under bad input', () => {
  const seed = seedFrom('FUZZ_SEED');
  let t: TestNode;

  beforeAll(async () => {
    const peer = (port: number) => ({ host: '127.0.0.1', port });
    t = startTestNode({
      superDigest: digestOf('super', 'test'), clusterSecret: 'members-fuzz-cluster-secret', raftTickMs: 10,
      members: [{ id: 1, client: '127.0.0.1:1', peer: peer(await freePort()) }, { id: 2, client: '127.0.0.1:1', peer: peer(1), observer: true }],
    });
    await waitFor(async () => (await t.request('GET', '/v1/cluster/members', { headers: SUPER })).body.leader === 1, { timeoutMs: 10_000, what: 'member 1 to lead' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it(`never answers 500 nor an undeclared response to ${REQUESTS} random changes (FUZZ_SEED=${seed})`, async () => {
    const rng = new Prng(seed);
    /** Statuses of the changes (not the listings). */
    const statuses = new Map<number, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const { method, url } = randomRequest(rng);
      let body = method === 'GET' || method === 'HEAD' ? undefined : randomBody(rng);
      // A promotion with an empty body waits the default 30 s for a learner that never catches up.
      if ((body === undefined || body.length === 0) && method === 'POST' && url.endsWith('/promote')) body = '{"timeoutMs":1}';
      const headers = { ...SUPER, ...(rng.chance(0.7) ? { 'content-type': 'application/json' } : {}) };
      const res = await t.request(method, url, { body, headers, unchecked: true });
      if (method !== 'GET' && method !== 'HEAD') statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const shown = typeof body === 'string' ? body.slice(0, 200) : body === undefined ? '' : `<${body.length} bytes>`;
      const where = `request ${i} (FUZZ_SEED=${seed}): ${method} ${url} ${shown} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
      // A change not committed within its (short) timeoutMs answers 503 OPERATIONTIMEOUT, and the
      // next one, while that one is still in the log uncommitted, 503 RECONFIGINPROGRESS: both
      // retryable answers, declared; no other 5xx.
      if (res.status === 503) expect(res.body, where).toMatchObject({ code: expect.stringMatching(/^(OPERATIONTIMEOUT|RECONFIGINPROGRESS)$/) });
      else expect(res.status, where).toBeLessThan(500);
      if (res.status >= 400 && method !== 'HEAD') {
        expect(res.body, where).toMatchObject({ code: expect.any(String), zkCode: expect.any(Number), message: expect.any(String) });
      }
      try {
        validateResponse(method, new URL(`http://localhost${url}`).pathname, res.status, res.headers, res.body);
      } catch (error) {
        throw new Error(`${where}\n${(error as Error).message}`);
      }
    }
    // The run reached the changes themselves (some committed, some refused), not only the parsing in front of them.
    expect(statuses.get(200) ?? 0, JSON.stringify([...statuses])).toBeGreaterThan(0);
    expect(statuses.get(409) ?? 0, JSON.stringify([...statuses])).toBeGreaterThan(0);
    const after = await t.request('GET', '/v1/cluster/members', { headers: SUPER });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ leader: 1, voters: [1] });
  });
});

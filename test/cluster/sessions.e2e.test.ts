/**
 * Sessions across a real cluster: only the leader expires sessions, so an ephemeral of a client
 * that went silent must vanish from every member soon after its timeout (and not before); a
 * client that keeps sending keepalives through a follower must keep its session and its
 * ephemeral while the leader is killed (the new leader grants every session a fresh timeout;
 * keepalives are forwarded to the leader, so the client retries one that got a 503 elsewhere);
 * and a client whose event stream is open on a follower is alive ("While the event stream is
 * open the session is alive"), which the follower must relay to the leader.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { request, type CorralCluster, type Reply } from '../support/corral-cluster.ts';
import { sharedCluster } from './scenario.ts';
import { waitFor } from '../support/corral-process.ts';

const TIMEOUT_MS = 4000;
/** After the timeout: the leader's expiry round (tickTime/2) and replication, generously. */
const EXPIRY_SLACK_MS = 4000;
const ELECTION_BOUND_MS = 10_000;
const KEEPALIVE_EVERY_MS = TIMEOUT_MS / 4;
const RETRY_MS = 150;
const TEST_TIMEOUT_MS = 120_000;
const HOOK_TIMEOUT_MS = 120_000;

const shared = sharedCluster();
afterEach(() => shared.release(), HOOK_TIMEOUT_MS);
afterAll(() => shared.close(), HOOK_TIMEOUT_MS);

interface Session {
  readonly id: string;
  readonly timeoutMs: number;
  readonly headers: Record<string, string>;
}

function ok(reply: Reply, status: number, what: string): any {
  expect(reply.kind === 'reply' && reply.status, `${what}: ${JSON.stringify(reply)}`).toBe(status);
  return (reply as { body: any }).body;
}

async function openSession(url: string): Promise<Session> {
  const body = ok(await request('POST', `${url}/v1/sessions`, { body: { timeoutMs: TIMEOUT_MS }, timeoutMs: 5000 }), 201, 'open a session');
  expect(body.timeoutMs).toBe(TIMEOUT_MS);
  return { id: body.id, timeoutMs: body.timeoutMs, headers: { 'zk-session-id': body.id, 'zk-session-token': body.token } };
}

/** Creates an ephemeral node for `session` through `url`; returns its czxid and when the request was sent. */
async function createEphemeral(url: string, path: string, session: Session): Promise<{ zxid: bigint; sentAt: number }> {
  const sentAt = performance.now();
  const body = ok(await request('POST', `${url}/v1/znodes${path}?mode=ephemeral`, { headers: session.headers, timeoutMs: 5000 }), 201, `create ${path}`);
  expect(body.stat.ephemeralOwner).toBe(session.id);
  return { zxid: BigInt(body.stat.czxid), sentAt };
}

async function statusOn(c: CorralCluster, id: number, path: string, headers: Record<string, string> = {}): Promise<number | string> {
  const reply = await request('GET', `${c.url(id)}/v1/znodes${path}`, { headers, timeoutMs: 3000 });
  return reply.kind === 'reply' ? reply.status : reply.kind;
}

describe('sessions in a 3-node cluster', () => {
  it('removes the ephemeral of a silent client from every member soon after its timeout, not before', async () => {
    const c = await shared.get();
    const leader = await c.leader();
    const follower = c.ids.find((id) => id !== leader)!;
    const session = await openSession(c.url(follower));
    const { zxid, sentAt } = await createEphemeral(c.url(follower), '/silent', session);
    for (const id of c.ids) expect(await statusOn(c, id, '/silent', { 'zk-min-zxid': String(zxid) }), `on node ${id}`).toBe(200);

    // No keepalive from now on (the client was killed); reads carry no session, so they touch nothing.
    const goneAt = new Map<number, number>();
    await waitFor(async () => {
      for (const id of c.ids) {
        if (goneAt.has(id)) continue;
        if ((await statusOn(c, id, '/silent')) === 404) goneAt.set(id, performance.now());
      }
      return goneAt.size === c.ids.length;
    }, { timeoutMs: session.timeoutMs + EXPIRY_SLACK_MS + 5000, what: 'the ephemeral to vanish everywhere' });
    const first = Math.min(...goneAt.values()) - sentAt;
    const last = Math.max(...goneAt.values()) - sentAt;
    expect(first, 'expired before its timeout').toBeGreaterThanOrEqual(session.timeoutMs - 100);
    expect(last).toBeLessThan(session.timeoutMs + EXPIRY_SLACK_MS);
    const keepalive = await request('POST', `${c.url(follower)}/v1/sessions/${session.id}/keepalive`, { headers: session.headers, timeoutMs: 5000 });
    expect(keepalive.kind === 'reply' && keepalive.body?.code, JSON.stringify(keepalive)).toBe('SESSIONEXPIRED');
  }, TEST_TIMEOUT_MS);

  it('keeps the session of a client sending keepalives through a follower while the leader is killed', async () => {
    const c = await shared.get();
    const old = await c.leader();
    const follower = c.ids.find((id) => id !== old)!;
    const session = await openSession(c.url(follower));
    await createEphemeral(c.url(follower), '/alive', session);
    const keepalives = new KeepaliveClient(c, follower, session);
    try {
      await waitFor(() => keepalives.succeeded >= 2, { timeoutMs: 10_000, what: 'two keepalives' });
      await c.kill(old);
      const others = c.ids.filter((id) => id !== old);
      const electedAt = performance.now();
      const leader = await c.leader({ among: others, timeoutMs: ELECTION_BOUND_MS * 2 });
      // Two full timeouts under the new leader: a session it did not keep would be gone by then.
      const succeeded = keepalives.succeeded;
      await waitFor(() => performance.now() - electedAt > 2 * session.timeoutMs && keepalives.succeeded > succeeded + 4, {
        timeoutMs: 3 * session.timeoutMs + ELECTION_BOUND_MS, what: `keepalives through the failover to ${leader}`,
      });
    } finally {
      await keepalives.stop();
    }
    expect(keepalives.ended, `the session ended: ${keepalives.log.join(', ')}`).toEqual([]);
    for (const id of c.ids.filter((i) => i !== old)) {
      expect(await statusOn(c, id, '/alive?consistency=linearizable'), `the ephemeral on node ${id}`).toBe(200);
      const listed = ok(await request('GET', `${c.url(id)}/v1/sessions/${session.id}/ephemerals`, { headers: session.headers, timeoutMs: 3000 }), 200, 'ephemerals');
      expect(listed.paths).toEqual(['/alive']);
    }
  }, TEST_TIMEOUT_MS);

  it('keeps a session alive while its event stream is open on a follower, with nothing else sent', async () => {
    const c = await shared.get();
    const leader = await c.leader();
    const follower = c.ids.find((id) => id !== leader)!;
    const session = await openSession(c.url(follower));
    await createEphemeral(c.url(follower), '/streaming', session);
    const controller = new AbortController();
    const token = session.headers['zk-session-token']!;
    const stream = await fetch(`${c.url(follower)}/v1/sessions/${session.id}/events`, { headers: { 'zk-session-token': token }, signal: controller.signal });
    expect(stream.status).toBe(200);
    let received = '';
    const reading = (async () => {
      const reader = stream.body!.getReader();
      try {
        for (let i = 0; i < 100_000; i++) {
          const { done, value } = await reader.read();
          if (done) return;
          received += new TextDecoder().decode(value);
        }
      } catch {
        // aborted
      }
    })();
    try {
      // Two full timeouts with the stream open and nothing else sent: the session must live.
      const started = performance.now();
      while (performance.now() - started < 2 * session.timeoutMs + 1000) {
        const status = await statusOn(c, leader, '/streaming');
        expect(status, `the ephemeral after ${(performance.now() - started).toFixed(0)} ms with the stream open; stream: ${JSON.stringify(received)}`).toBe(200);
        // Check again after the stream's next heartbeat (it sends one every timeout/6).
        const seen = received.length;
        await waitFor(() => received.length > seen, { timeoutMs: session.timeoutMs, what: 'the next heartbeat on the session stream' });
      }
      expect(received).not.toContain('"expired"');
    } finally {
      controller.abort();
      await reading;
    }
  }, TEST_TIMEOUT_MS);
});

/**
 * Sends a keepalive every KEEPALIVE_EVERY_MS to `home`; one that is not answered 200 is retried
 * on the other members every RETRY_MS until one is. Records every answer that ends the session.
 */
class KeepaliveClient {
  succeeded = 0;
  readonly ended: string[] = [];
  readonly log: string[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;
  private readonly started = performance.now();

  constructor(private readonly c: CorralCluster, private readonly home: number, private readonly session: Session) {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    const ids = this.c.ids;
    let node = this.home;
    for (let i = 0; i < 10_000 && !this.stopped; i++) {
      const reply = await request('POST', `${this.c.url(node)}/v1/sessions/${this.session.id}/keepalive`, { headers: this.session.headers, timeoutMs: 2000 });
      const at = (performance.now() - this.started).toFixed(0);
      const status = reply.kind === 'reply' ? reply.status : reply.kind;
      if (status !== 200) this.log.push(`${at} ms node ${node}: ${status}`);
      if (status === 404 || status === 410) this.ended.push(`${at} ms node ${node}: ${JSON.stringify((reply as { body: unknown }).body)}`);
      if (status === 200) {
        this.succeeded++;
        node = this.home;
        await new Promise((r) => setTimeout(r, KEEPALIVE_EVERY_MS));
      } else {
        node = ids[(ids.indexOf(node) + 1) % ids.length]!;
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }
}

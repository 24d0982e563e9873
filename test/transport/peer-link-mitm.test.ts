/**
 * A relay between two members that passes the handshake through and then meddles (meddling-
 * relay.ts): nothing it sends is accepted. The receiving member closes the link at the first
 * frame the channel did not authenticate, counts and logs it; the dialer redials, and once the
 * relay stops meddling the link comes back. Member 1 dials member 2 through the relay.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../support/corral-process.ts';
import { capturedLogger } from './captured-logger.ts';
import { from, HOST, Pool, type Member } from './harness.ts';
import { MeddlingRelay, type Meddling } from './meddling-relay.ts';

const pool = new Pool();
const relays: MeddlingRelay[] = [];

afterEach(async () => {
  await pool.closeAll();
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
});

const FORGED = 'forged by the relay';
/** Long enough to count as a message frame for the relay, numbered so order and content show. */
const message = (n: number): string => `message-${n}-${'x'.repeat(150)}`;

async function relayedPair(meddling: Meddling): Promise<{ a: Member; b: Member; relay: MeddlingRelay; bLog: ReturnType<typeof capturedLogger> }> {
  const [portA, portB] = [await freePort(), await freePort()];
  const bLog = capturedLogger('warn');
  const b = await pool.member(2, portB, [{ id: 1, host: HOST, port: portA }], { logger: bLog.logger });
  const relay = await MeddlingRelay.start(b.port, () => FORGED);
  relays.push(relay);
  relay.meddling = meddling;
  const a = await pool.member(1, portA, [{ id: 2, host: HOST, port: relay.port }]);
  return { a, b, relay, bLog };
}

/** One turn of the event loop: what was sent in it has left (each message its own record). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const cases: ReadonlyArray<{ meddling: Meddling; what: string }> = [
  { meddling: 'inject', what: 'injects a frame after the handshake' },
  { meddling: 'replay', what: 'replays a frame' },
  { meddling: 'alter', what: 'alters a byte of a frame' },
  { meddling: 'reorder', what: 'swaps two frames' },
  { meddling: 'drop', what: 'drops a frame and passes the next' },
];

describe('a peer link behind a meddling relay', () => {
  it.each(cases)('accepts nothing when the relay $what, closes and counts it, and recovers once it stops', { timeout: 20_000 }, async ({ meddling }) => {
    const { a, b, relay, bLog } = await relayedPair(meddling);
    const sent: string[] = [];
    const rejected = (): boolean => b.transport.stats().peers[1]!.framesRejected > 0;
    for (let n = 0; n < 6 && !rejected(); n++) {
      // An injected frame right after the hello is rejected before member 1 even sees the welcome.
      await waitFor(() => a.transport.isConnected(2) || rejected(), { timeoutMs: 3000, what: 'the link to be up' });
      a.transport.send(2, message(n));
      sent.push(message(n));
      await nextTurn();
      await nextTurn();
    }
    await waitFor(rejected, { timeoutMs: 3000, what: 'the meddled frame to be rejected' });
    expect(relay.meddled).toBeGreaterThan(0);

    // Whatever arrived is what member 1 sent, each once, in order: nothing injected, replayed, altered or swapped.
    const received = from(b.inbox, 1);
    expect(received).not.toContain(FORGED);
    expect(received.every((m) => sent.includes(m as string))).toBe(true);
    expect(new Set(received).size).toBe(received.length);
    expect(received).toEqual([...received].sort((x, y) => sent.indexOf(x as string) - sent.indexOf(y as string)));
    expect(bLog.events('peer-frame-rejected')[0]).toMatchObject({ peer: 1 });

    relay.meddling = 'pass';
    await waitFor(() => {
      if (a.transport.isConnected(2)) a.transport.send(2, 'after');
      return from(b.inbox, 1).includes('after');
    }, { timeoutMs: 5000, what: 'the link to carry messages again' });
  });
});

/**
 * Mutual authentication of a peer connection with the shared cluster secret, before any message
 * is delivered:
 *
 *   listener → dialer    { type: 'challenge', nonce: Nl }
 *   dialer   → listener  { type: 'hello', from, to, nonce: Nd, mac: HMAC(secret, hello-label|from|to|Nl|Nd), protocol }
 *   listener → dialer    { type: 'welcome', mac: HMAC(secret, welcome-label|from|to|Nl|Nd), protocol? }
 *
 * `protocol` says which frames a member reads: PEER_PROTOCOL (2) means binary frames too. The
 * listener echoes it when the hello carried it; a build before it sends and echoes none, and
 * ignores the field, so a dialer sends binary frames only to a listener that said it reads them
 * (members of both kinds keep talking during a rolling upgrade, in JSON).
 *
 * Why each piece: the listener's fresh nonce makes a recorded hello useless elsewhere (no
 * replay), the dialer's nonce does the same for the welcome; distinct labels stop a hello's MAC
 * being reflected back as a welcome; `to` stops a hello meant for another member being relayed
 * here; `from` is what the listener then trusts as the sender of every frame on the connection.
 * The listener reveals nothing but its nonce until the dialer has proven itself, and checks the
 * MAC before the ids, so a stranger cannot probe who the members are. MACs are compared with
 * timingSafeEqual. Every field has a fixed alphabet, so the '|'-joined string is unambiguous.
 *
 * Both sides give up after `timeoutMs` (a socket that says nothing holds nothing for long); the
 * timeout covers the dialer's TCP connect too. On failure the connection is destroyed and `done`
 * gets the reason; logging and counting belong to the caller, and no secret reaches either.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FramedSocket } from './framed-socket.ts';

/** Handshake frames are tiny; a stranger cannot make us buffer more than this before proving itself. */
export const HANDSHAKE_MAX_FRAME_BYTES = 1024;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;

/** The peer protocol this build speaks: 2 = JSON and binary frames (1, unsaid, JSON only). */
export const PEER_PROTOCOL = 2;

const HELLO_LABEL = 'corral/peer-handshake/v1/hello';
const WELCOME_LABEL = 'corral/peer-handshake/v1/welcome';
const NONCE_BYTES = 32;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{43}$/; // 32 bytes, base64url without padding
const MAC_PATTERN = /^[0-9a-f]{64}$/;

export type HandshakeFailure = 'timeout' | 'closed' | 'malformed' | 'bad-mac' | 'wrong-target' | 'unknown-member';

export type HandshakeResult =
  /** `binary`: the other end reads binary frames (it said PEER_PROTOCOL). */
  | { readonly ok: true; readonly peerId: number; readonly binary: boolean }
  | { readonly ok: false; readonly reason: HandshakeFailure; readonly detail: string; readonly claimedId?: number };

export interface HandshakeOptions {
  readonly selfId: number;
  readonly secret: string;
  readonly timeoutMs: number;
}

/** A failure that says the other end does not share our secret or our view of the cluster. */
export function isAuthFailure(reason: HandshakeFailure): boolean {
  return reason !== 'timeout' && reason !== 'closed';
}

interface Proof {
  readonly from: number;
  readonly to: number;
  readonly listenerNonce: string;
  readonly dialerNonce: string;
}

function mac(secret: string, label: string, proof: Proof): string {
  const text = [label, proof.from, proof.to, proof.listenerNonce, proof.dialerNonce].join('|');
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

function macMatches(expectedHex: string, actualHex: string): boolean {
  const expected = Buffer.from(expectedHex, 'hex');
  const actual = Buffer.from(actualHex, 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function nonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64url');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMemberId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

const speaksBinary = (protocol: unknown) => typeof protocol === 'number' && protocol >= PEER_PROTOCOL;

type Step = (message: unknown) => HandshakeResult | 'continue';

/** Runs `step` on each frame until it settles, under one timeout; `done` is called exactly once. */
function run(conn: FramedSocket, timeoutMs: number, step: Step, done: (result: HandshakeResult) => void): void {
  let settled = false;
  const settle = (result: HandshakeResult): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    if (!result.ok) conn.destroy(`handshake failed: ${result.reason}`);
    done(result);
  };
  const timer = setTimeout(() => settle({ ok: false, reason: 'timeout', detail: `no handshake within ${timeoutMs} ms` }), timeoutMs);
  conn.onClose = (reason) => settle({ ok: false, reason: 'closed', detail: reason });
  conn.onFrame = (message) => {
    const result = step(message);
    if (result !== 'continue') settle(result);
  };
}

/** The listener's side: challenge, verify the hello, answer with the welcome. */
export function acceptHandshake(
  conn: FramedSocket,
  options: HandshakeOptions & { readonly members: ReadonlySet<number> },
  done: (result: HandshakeResult) => void,
): void {
  const listenerNonce = nonce();
  run(conn, options.timeoutMs, (message) => {
    const hello = message;
    if (!isRecord(hello) || hello['type'] !== 'hello' || !isMemberId(hello['from']) || !isMemberId(hello['to'])
      || typeof hello['nonce'] !== 'string' || !NONCE_PATTERN.test(hello['nonce'])
      || typeof hello['mac'] !== 'string' || !MAC_PATTERN.test(hello['mac'])) {
      return { ok: false, reason: 'malformed', detail: 'expected a hello' };
    }
    const proof: Proof = { from: hello['from'], to: hello['to'], listenerNonce, dialerNonce: hello['nonce'] };
    const claimedId = options.members.has(proof.from) ? proof.from : undefined;
    if (!macMatches(mac(options.secret, HELLO_LABEL, proof), hello['mac'])) {
      return { ok: false, reason: 'bad-mac', detail: `hello claiming member ${proof.from} has a wrong MAC`, claimedId };
    }
    if (proof.to !== options.selfId) {
      return { ok: false, reason: 'wrong-target', detail: `hello is addressed to member ${proof.to}`, claimedId };
    }
    if (claimedId === undefined) {
      return { ok: false, reason: 'unknown-member', detail: `member ${proof.from} is not configured` };
    }
    const binary = speaksBinary(hello['protocol']);
    conn.write({ type: 'welcome', mac: mac(options.secret, WELCOME_LABEL, proof), ...(binary ? { protocol: PEER_PROTOCOL } : {}) });
    return { ok: true, peerId: proof.from, binary };
  }, done);
  conn.write({ type: 'challenge', nonce: listenerNonce });
}

/** The dialer's side: answer the challenge with a hello, then verify the listener's welcome. */
export function dialHandshake(
  conn: FramedSocket,
  options: HandshakeOptions & { readonly peerId: number },
  done: (result: HandshakeResult) => void,
): void {
  let proof: Proof | undefined;
  const claimedId = options.peerId;
  run(conn, options.timeoutMs, (message) => {
    if (!isRecord(message)) return { ok: false, reason: 'malformed', detail: 'expected an object', claimedId };
    if (proof === undefined) {
      const listenerNonce = message['nonce'];
      if (message['type'] !== 'challenge' || typeof listenerNonce !== 'string' || !NONCE_PATTERN.test(listenerNonce)) {
        return { ok: false, reason: 'malformed', detail: 'expected a challenge', claimedId };
      }
      proof = { from: options.selfId, to: options.peerId, listenerNonce, dialerNonce: nonce() };
      conn.write({ type: 'hello', from: proof.from, to: proof.to, nonce: proof.dialerNonce, mac: mac(options.secret, HELLO_LABEL, proof), protocol: PEER_PROTOCOL });
      return 'continue';
    }
    const welcomeMac = message['mac'];
    if (message['type'] !== 'welcome' || typeof welcomeMac !== 'string' || !MAC_PATTERN.test(welcomeMac)) {
      return { ok: false, reason: 'malformed', detail: 'expected a welcome', claimedId };
    }
    if (!macMatches(mac(options.secret, WELCOME_LABEL, proof), welcomeMac)) {
      return { ok: false, reason: 'bad-mac', detail: `welcome from member ${options.peerId} has a wrong MAC`, claimedId };
    }
    return { ok: true, peerId: options.peerId, binary: speaksBinary(message['protocol']) };
  }, done);
}

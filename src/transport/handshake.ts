/**
 * Mutual authentication of a peer connection, before any message is delivered:
 *
 *   listener → dialer    { type: 'challenge', nonce: Nl, protocol }
 *   dialer   → listener  { type: 'hello', from, to, nonce: Nd, protocol, mac: HMAC(secret, hello-label|protocol|from|to|Nl|Nd) }
 *   listener → dialer    { type: 'welcome', mac: HMAC(secret, welcome-label|protocol|from|to|Nl|Nd) }
 *
 * then, on the shared secret alone, both ends seal every later frame with keys derived from the
 * secret and this transcript (frame-seal.ts): passing the handshake through is no longer enough
 * to speak on the link. Over mutual TLS (peer-tls.ts) the TLS session protects the frames, the
 * certificates prove who is on each end (the caller passes the id the dialer's certificate names
 * as `peerIdentity`; the dialer checked the listener's during the TLS handshake), and the MACs
 * are there only when a secret is configured as well.
 *
 * `protocol` is PEER_PROTOCOL, bound into the MACs and keys so that no relay can downgrade it;
 * a member speaking another (an earlier build, which read unsealed frames) is refused with a
 * reason that says so: members are upgraded together (docs/operations.md).
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
import { deriveLinkKeys } from './frame-seal.ts';

/** Handshake frames are tiny; a stranger cannot make us buffer more than this before proving itself. */
export const HANDSHAKE_MAX_FRAME_BYTES = 1024;
/** Short: a real member answers within a round trip or two; a silent socket should not hold a slot. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 3000;

/**
 * The peer protocol this build speaks: 3 = sealed frames on the shared secret, binary and JSON
 * frames inside (2 was unsealed binary and JSON, 1 unsealed JSON). Only equals talk.
 */
export const PEER_PROTOCOL = 3;

const HELLO_LABEL = 'corral/peer-handshake/v3/hello';
const WELCOME_LABEL = 'corral/peer-handshake/v3/welcome';
const NONCE_BYTES = 32;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{43}$/; // 32 bytes, base64url without padding
const MAC_PATTERN = /^[0-9a-f]{64}$/;

export type HandshakeFailure =
  | 'timeout' | 'closed' | 'malformed' | 'protocol' | 'bad-mac' | 'wrong-target' | 'wrong-identity' | 'unknown-member';

export type HandshakeResult =
  /** `sealed`: every later frame on the connection is sealed (frame-seal.ts). */
  | { readonly ok: true; readonly peerId: number; readonly sealed: boolean }
  | { readonly ok: false; readonly reason: HandshakeFailure; readonly detail: string; readonly claimedId?: number };

export interface HandshakeOptions {
  readonly selfId: number;
  /** The cluster secret; undefined over mutual TLS without one (then no MACs). */
  readonly secret: string | undefined;
  /** Seal the frames after the handshake (on the secret, not over TLS, which protects them itself). */
  readonly seal: boolean;
  readonly timeoutMs: number;
}

/** A failure that says the other end does not share our secret or our view of the cluster. */
export function isAuthFailure(reason: HandshakeFailure): boolean {
  return reason !== 'timeout' && reason !== 'closed';
}

interface Proof {
  readonly protocol: number;
  readonly from: number;
  readonly to: number;
  readonly listenerNonce: string;
  readonly dialerNonce: string;
}

function mac(secret: string, label: string, proof: Proof): string {
  const text = [label, proof.protocol, proof.from, proof.to, proof.listenerNonce, proof.dialerNonce].join('|');
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

/** A MAC field is needed (and checked) exactly when there is a secret. */
function macField(secret: string | undefined, value: unknown): boolean {
  return secret === undefined || (typeof value === 'string' && MAC_PATTERN.test(value));
}

function macOk(secret: string | undefined, label: string, proof: Proof, given: unknown): boolean {
  return secret === undefined || macMatches(mac(secret, label, proof), given as string);
}

function protocolFailure(said: unknown, claimedId?: number): HandshakeResult {
  const version = typeof said === 'number' ? String(said) : 'before 3';
  return { ok: false, reason: 'protocol', detail: `the other end speaks peer protocol ${version}, this member ${PEER_PROTOCOL}: upgrade every member`, claimedId };
}

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
  options: HandshakeOptions & {
    readonly members: ReadonlySet<number>;
    /** Over TLS: the member id the dialer's verified certificate names (undefined: none). */
    readonly peerIdentity?: () => number | undefined;
  },
  done: (result: HandshakeResult) => void,
): void {
  const { secret } = options;
  const listenerNonce = nonce();
  run(conn, options.timeoutMs, (hello) => {
    if (!isRecord(hello) || hello['type'] !== 'hello' || !isMemberId(hello['from']) || !isMemberId(hello['to'])
      || typeof hello['nonce'] !== 'string' || !NONCE_PATTERN.test(hello['nonce']) || !macField(secret, hello['mac'])) {
      return { ok: false, reason: 'malformed', detail: 'expected a hello' };
    }
    if (hello['protocol'] !== PEER_PROTOCOL) return protocolFailure(hello['protocol']);
    const proof: Proof = { protocol: PEER_PROTOCOL, from: hello['from'], to: hello['to'], listenerNonce, dialerNonce: hello['nonce'] };
    const claimedId = options.members.has(proof.from) ? proof.from : undefined;
    if (!macOk(secret, HELLO_LABEL, proof, hello['mac'])) {
      return { ok: false, reason: 'bad-mac', detail: `hello claiming member ${proof.from} has a wrong MAC`, claimedId };
    }
    if (proof.to !== options.selfId) {
      return { ok: false, reason: 'wrong-target', detail: `hello is addressed to member ${proof.to}`, claimedId };
    }
    if (options.peerIdentity !== undefined && options.peerIdentity() !== proof.from) {
      const named = options.peerIdentity();
      return { ok: false, reason: 'wrong-identity', detail: `hello claims member ${proof.from}, the certificate names ${named ?? 'no member'}`, claimedId };
    }
    if (claimedId === undefined) {
      return { ok: false, reason: 'unknown-member', detail: `member ${proof.from} is not configured` };
    }
    conn.write({ type: 'welcome', ...(secret === undefined ? {} : { mac: mac(secret, WELCOME_LABEL, proof) }) });
    const sealed = options.seal && secret !== undefined;
    if (sealed) conn.seal(deriveLinkKeys(secret, proof, 'listener'));
    return { ok: true, peerId: proof.from, sealed };
  }, done);
  conn.write({ type: 'challenge', nonce: listenerNonce, protocol: PEER_PROTOCOL });
}

/** The dialer's side: answer the challenge with a hello, then verify the listener's welcome. */
export function dialHandshake(
  conn: FramedSocket,
  options: HandshakeOptions & { readonly peerId: number },
  done: (result: HandshakeResult) => void,
): void {
  const { secret } = options;
  let proof: Proof | undefined;
  const claimedId = options.peerId;
  run(conn, options.timeoutMs, (message) => {
    if (!isRecord(message)) return { ok: false, reason: 'malformed', detail: 'expected an object', claimedId };
    if (proof === undefined) {
      const listenerNonce = message['nonce'];
      if (message['type'] !== 'challenge' || typeof listenerNonce !== 'string' || !NONCE_PATTERN.test(listenerNonce)) {
        return { ok: false, reason: 'malformed', detail: 'expected a challenge', claimedId };
      }
      if (message['protocol'] !== PEER_PROTOCOL) return protocolFailure(message['protocol'], claimedId);
      proof = { protocol: PEER_PROTOCOL, from: options.selfId, to: options.peerId, listenerNonce, dialerNonce: nonce() };
      const { from, to, dialerNonce } = proof;
      conn.write({ type: 'hello', from, to, nonce: dialerNonce, protocol: PEER_PROTOCOL, ...(secret === undefined ? {} : { mac: mac(secret, HELLO_LABEL, proof) }) });
      return 'continue';
    }
    if (message['type'] !== 'welcome' || !macField(secret, message['mac'])) {
      return { ok: false, reason: 'malformed', detail: 'expected a welcome', claimedId };
    }
    if (!macOk(secret, WELCOME_LABEL, proof, message['mac'])) {
      return { ok: false, reason: 'bad-mac', detail: `welcome from member ${options.peerId} has a wrong MAC`, claimedId };
    }
    const sealed = options.seal && secret !== undefined;
    if (sealed) conn.seal(deriveLinkKeys(secret, proof, 'dialer'));
    return { ok: true, peerId: options.peerId, sealed };
  }, done);
}

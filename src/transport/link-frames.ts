/**
 * The frames on an authenticated connection. The dialer sends `msg` (a payload) and, when it has
 * had nothing to send for a heartbeat interval, `ping`; the listener answers on the same
 * connection with `ack`, the bytes it has read so far. Acks are how a dialer notices a link that
 * accepts writes but delivers nothing (a hung peer, a blackholing proxy): TCP alone would let it
 * write into the void until the kernel gives up, many minutes later.
 *
 * An ack also says which layout of messages the listener reads (`reads`, a number the transport's
 * user gives it: src/node/peer-wire.ts PROPOSAL_LAYOUT): the listener sends one at once when
 * the handshake succeeds, so the dialer knows before its first message. It travels inside the
 * authenticated channel; listeners of earlier builds send none (layout 1), and dialers of
 * earlier builds ignore the field.
 */

export type DialerFrame =
  | { readonly type: 'msg'; readonly body: unknown }
  | { readonly type: 'ping' };

export interface AckFrame {
  readonly type: 'ack';
  readonly bytes: number;
  /** The newest layout the listener reads; absent from listeners of earlier builds. */
  readonly reads?: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseDialerFrame(value: unknown): DialerFrame | undefined {
  if (!isRecord(value)) return undefined;
  if (value['type'] === 'msg' && 'body' in value) return { type: 'msg', body: value['body'] };
  if (value['type'] === 'ping') return { type: 'ping' };
  return undefined;
}

export function parseAckFrame(value: unknown): AckFrame | undefined {
  if (!isRecord(value) || value['type'] !== 'ack') return undefined;
  const { bytes, reads } = value;
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) return undefined;
  if (reads === undefined) return { type: 'ack', bytes };
  return typeof reads === 'number' && Number.isSafeInteger(reads) && reads >= 1 ? { type: 'ack', bytes, reads } : undefined;
}

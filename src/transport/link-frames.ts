/**
 * The frames on an authenticated connection. The dialer sends `msg` (a payload) and, when it has
 * had nothing to send for a heartbeat interval, `ping`; the listener answers on the same
 * connection with `ack`, the bytes it has read so far. Acks are how a dialer notices a link that
 * accepts writes but delivers nothing (a hung peer, a blackholing proxy): TCP alone would let it
 * write into the void until the kernel gives up, many minutes later.
 */

export type DialerFrame =
  | { readonly type: 'msg'; readonly body: unknown }
  | { readonly type: 'ping' };

export interface AckFrame {
  readonly type: 'ack';
  readonly bytes: number;
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
  const bytes = value['bytes'];
  return typeof bytes === 'number' && Number.isSafeInteger(bytes) && bytes >= 0 ? { type: 'ack', bytes } : undefined;
}

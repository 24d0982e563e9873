/**
 * Writes forwarded over the peer link: a follower sends the leader the HTTP request it was given
 * (already read), the leader answers with the response its own HTTP API gave. Bodies are base64
 * (frames are JSON). Like peer-codec.ts, decoding guards against bugs and version skew: a message
 * of unknown shape is dropped.
 */

/** An HTTP request as a follower received it: `target` is the raw path and query. */
export interface ForwardedRequest {
  readonly method: string;
  readonly target: string;
  /** Lower-case names; hop-by-hop headers left out. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
}

/** The leader's answer, as its HTTP API gave it. */
export interface ForwardedResponse {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
}

export interface ForwardRequestMessage {
  readonly type: 'ForwardRequest';
  readonly from: number;
  readonly to: number;
  /** Unique per sender incarnation (a nonce and a sequence number). */
  readonly id: string;
  readonly method: string;
  readonly target: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
}

export interface ForwardResponseMessage {
  readonly type: 'ForwardResponse';
  readonly from: number;
  readonly to: number;
  readonly id: string;
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
}

const toBase64 = (bytes: Uint8Array) => (bytes.length === 0 ? '' : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64'));
const fromBase64 = (text: string) => {
  const buffer = Buffer.from(text, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
};

export function encodeForwardRequest(from: number, to: number, id: string, request: ForwardedRequest): ForwardRequestMessage {
  const { method, target, headers, body } = request;
  return { type: 'ForwardRequest', from, to, id, method, target, headers, body: toBase64(body) };
}

export function encodeForwardResponse(from: number, to: number, id: string, response: ForwardedResponse): ForwardResponseMessage {
  const { status, headers, body } = response;
  return { type: 'ForwardResponse', from, to, id, status, headers, body: toBase64(body) };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function isHeaderList(v: unknown): v is ReadonlyArray<readonly [string, string]> {
  return Array.isArray(v) && v.every((h) => Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string');
}

interface Envelope {
  readonly from: number;
  readonly to: number;
  readonly id: string;
}

function envelopeOf(raw: unknown, type: string): (Envelope & Record<string, unknown>) | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (m['type'] !== type || !isCount(m['from']) || !isCount(m['to']) || typeof m['id'] !== 'string') return undefined;
  if (!isHeaderList(m['headers']) || typeof m['body'] !== 'string') return undefined;
  return m as Envelope & Record<string, unknown>;
}

/** The request and its envelope, or undefined when `raw` is not a ForwardRequest. */
export function decodeForwardRequest(raw: unknown): (Envelope & { readonly request: ForwardedRequest }) | undefined {
  const m = envelopeOf(raw, 'ForwardRequest');
  if (!m || typeof m['method'] !== 'string' || typeof m['target'] !== 'string' || !m['target'].startsWith('/')) return undefined;
  const request: ForwardedRequest = {
    method: m['method'], target: m['target'], headers: m['headers'] as ForwardedRequest['headers'], body: fromBase64(m['body'] as string),
  };
  return { from: m.from, to: m.to, id: m.id, request };
}

/** The response and its envelope, or undefined when `raw` is not a ForwardResponse. */
export function decodeForwardResponse(raw: unknown): (Envelope & { readonly response: ForwardedResponse }) | undefined {
  const m = envelopeOf(raw, 'ForwardResponse');
  if (!m || !isCount(m['status'])) return undefined;
  const response: ForwardedResponse = {
    status: m['status'], headers: m['headers'] as ForwardedResponse['headers'], body: fromBase64(m['body'] as string),
  };
  return { from: m.from, to: m.to, id: m.id, response };
}

/**
 * Peer messages as binary frames (for members that read them: see PEER_PROTOCOL in
 * src/transport/handshake.ts): every Raft message but MsgSnap (its checkpoint stays JSON, in
 * peer-codec.ts), and proposals forwarded to the leader with their answers.
 *
 * Layout: a version byte (WIRE_VERSION), a kind byte, then the fields in a fixed order. Numbers
 * are float64 (exact for the safe integers terms, indexes and ids are), strings and bytes follow
 * a uint32 length, an optional string a presence byte. An entry's data (the transaction's text)
 * goes as its UTF-8 bytes: no JSON escaping of JSON text inside JSON on the way out, no parse of
 * it on the way in. A proposal or its answer goes as
 * its plain value's JSON text (src/node/pipeline/proposal-values.ts: small, many-shaped) with
 * its bytes (znode data, the bulk) beside it as raw blobs, not base64.
 *
 * Decoding checks every length, bound and value, and answers a PeerWireError (a value, never a
 * throw) for anything else: a peer's bug or version skew is dropped and logged, never stepped.
 */
import type { RaftMessage } from '../core/consensus/messages.ts';
import type { Entry } from '../core/consensus/types.ts';
import { isId, type ProposalAnswer, type ProposalEnvelope, type ProposalMessage } from './pipeline/proposal-codec.ts';
import type { ProposalOutcome, ProposalRequest } from './pipeline/proposal.ts';
import { blobBytes, MalformedProposal, plainOutcome, plainRequest, readOutcome, readRequest, type BytesCodec } from './pipeline/proposal-values.ts';

/** Bumped with any change of layout; a member reading another version drops the message. */
export const WIRE_VERSION = 1;

export class PeerWireError extends Error {
  override readonly name = 'PeerWireError';
}

export type WireMessage =
  | { readonly kind: 'raft'; readonly message: RaftMessage }
  | (ProposalMessage & { readonly kind: 'Proposal' })
  | (ProposalAnswer & { readonly kind: 'ProposalAnswer' });

type BinaryRaftType = Exclude<RaftMessage['type'], 'MsgSnap'>;

// 20 and 21 were whole HTTP requests forwarded to the leader (before proposals): not reused.
const KINDS: Readonly<Record<BinaryRaftType | 'Proposal' | 'ProposalAnswer', number>> = {
  MsgVote: 1, MsgPreVote: 2, MsgVoteResp: 3, MsgPreVoteResp: 4, MsgApp: 5, MsgAppResp: 6,
  MsgHeartbeat: 7, MsgHeartbeatResp: 8, MsgReadIndex: 9, MsgReadIndexResp: 10, MsgTransferLeader: 11, MsgTimeoutNow: 12,
  Proposal: 22, ProposalAnswer: 23,
};
const KIND_NAMES = new Map(Object.entries(KINDS).map(([name, kind]) => [kind, name as keyof typeof KINDS]));

/**
 * Writes into one scratch buffer reused by every encode (grown when a message needs more): the
 * transport copies the bytes into their frame at once, so a message costs that one copy.
 */
class Writer {
  private static scratch = Buffer.allocUnsafe(64 * 1024);
  private buf = Writer.scratch;
  private at = 0;

  constructor(kind: number) {
    this.u8(WIRE_VERSION);
    this.u8(kind);
  }

  u8(value: number): void {
    this.room(1);
    this.buf[this.at++] = value;
  }

  num(value: number): void {
    this.room(8);
    this.buf.writeDoubleLE(value, this.at);
    this.at += 8;
  }

  str(value: string): void {
    this.room(4 + 3 * value.length); // UTF-8 takes at most 3 bytes per UTF-16 unit
    const n = this.buf.write(value, this.at + 4, 'utf8');
    this.buf.writeUInt32LE(n, this.at);
    this.at += 4 + n;
  }

  optionalStr(value: string | undefined): void {
    this.u8(value === undefined ? 0 : 1);
    if (value !== undefined) this.str(value);
  }

  bytes(value: Uint8Array): void {
    this.room(4 + value.length);
    this.buf.writeUInt32LE(value.length, this.at);
    this.buf.set(value, this.at + 4);
    this.at += 4 + value.length;
  }

  /** The message: valid until the next encode (send it, which copies it, before encoding another). */
  done(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.at + n));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
    Writer.scratch = grown;
  }
}

/** Reads what Writer wrote; every read checks its bounds (throws PeerWireError, caught in decodeWire). */
class Reader {
  private at = 0;

  constructor(private readonly buf: Buffer) {}

  u8(): number {
    this.need(1);
    return this.buf[this.at++]!;
  }

  flag(what: string): boolean {
    const value = this.u8();
    if (value > 1) throw new PeerWireError(`${what} is ${value}, not 0 or 1`);
    return value === 1;
  }

  /** A non-negative safe integer. */
  num(what: string): number {
    this.need(8);
    const value = this.buf.readDoubleLE(this.at);
    this.at += 8;
    if (!Number.isSafeInteger(value) || value < 0) throw new PeerWireError(`${what} is not a count`);
    return value;
  }

  str(): string {
    const n = this.length();
    const value = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return value;
  }

  optionalStr(what: string): string | undefined {
    return this.flag(what) ? this.str() : undefined;
  }

  /** A copy: the frame's buffer is a view of the socket's chunk, which must not be kept alive. */
  bytes(): Uint8Array {
    const n = this.length();
    const value = new Uint8Array(n);
    value.set(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return value;
  }

  end(): void {
    if (this.at !== this.buf.length) throw new PeerWireError(`${this.buf.length - this.at} bytes past the end of the message`);
  }

  remaining(): number {
    return this.buf.length - this.at;
  }

  private length(): number {
    this.need(4);
    const n = this.buf.readUInt32LE(this.at);
    this.at += 4;
    this.need(n);
    return n;
  }

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new PeerWireError(`message ends ${this.at + n - this.buf.length} bytes short`);
  }
}

/** The message as bytes (valid until the next encode), or undefined for MsgSnap (sent as JSON). */
export function encodeRaftWire(message: RaftMessage): Uint8Array | undefined {
  if (message.type === 'MsgSnap') return undefined;
  const w = new Writer(KINDS[message.type]);
  w.num(message.from);
  w.num(message.to);
  w.num(message.term);
  switch (message.type) {
    case 'MsgVote':
    case 'MsgPreVote':
      w.num(message.lastIndex);
      w.num(message.lastTerm);
      // A trailing byte only on a transfer's vote: every other vote keeps the layout members of
      // an earlier version read (such a member drops the transfer's vote; the transfer times out).
      if (message.transfer) w.u8(1);
      break;
    case 'MsgTransferLeader':
      w.num(message.transferee);
      break;
    case 'MsgTimeoutNow':
      break;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      w.u8(message.granted ? 1 : 0);
      break;
    case 'MsgApp':
      w.num(message.prevIndex);
      w.num(message.prevTerm);
      w.num(message.commit);
      w.num(message.entries.length);
      for (const entry of message.entries) {
        w.num(entry.term);
        w.num(entry.index);
        w.str(entry.data);
      }
      break;
    case 'MsgAppResp':
      w.num(message.index);
      w.u8(message.rejected ? 1 : 0);
      break;
    case 'MsgHeartbeat':
      w.num(message.commit);
      w.optionalStr(message.context);
      break;
    case 'MsgHeartbeatResp':
      w.optionalStr(message.context);
      break;
    case 'MsgReadIndex':
      w.str(message.context);
      break;
    case 'MsgReadIndexResp':
      w.str(message.context);
      w.num(message.index);
      break;
  }
  return w.done();
}

/** A proposal or its answer: the envelope, the plain value's JSON text, then its byte blobs. */
function proposalWire(kind: number, env: ProposalEnvelope, plain: (codec: BytesCodec) => unknown): Uint8Array {
  const blobs: Uint8Array[] = [];
  const text = JSON.stringify(plain(blobBytes(blobs)));
  const w = new Writer(kind);
  w.num(env.from);
  w.num(env.to);
  w.str(env.id);
  w.str(text);
  w.num(blobs.length);
  for (const blob of blobs) w.bytes(blob);
  return w.done();
}

/** A member's proposal for the leader, as bytes (valid until the next encode). */
export function encodeProposalWire(message: ProposalMessage): Uint8Array {
  return proposalWire(KINDS.Proposal, message, (codec) => plainRequest(message.request, codec));
}

/** The leader's answer to a proposal, as bytes (valid until the next encode). */
export function encodeAnswerWire(message: ProposalAnswer): Uint8Array {
  return proposalWire(KINDS.ProposalAnswer, message, (codec) => plainOutcome(message.outcome, codec));
}

function readProposalWire<T extends ProposalRequest | ProposalOutcome>(r: Reader, read: (raw: unknown, codec: BytesCodec) => T | MalformedProposal) {
  const env = { from: r.num('from'), to: r.num('to'), id: r.str() };
  if (!isId(env.id)) throw new PeerWireError('a proposal id must be 1 to 64 characters');
  const text = r.str();
  const count = r.num('blob count');
  // Each blob takes at least its 4-byte length.
  if (count * 4 > r.remaining()) throw new PeerWireError(`${count} blobs in ${r.remaining()} bytes`);
  const blobs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) blobs.push(r.bytes());
  let plain: unknown;
  try {
    plain = JSON.parse(text);
  } catch {
    throw new PeerWireError('a proposal\'s text is not JSON');
  }
  const value = read(plain, blobBytes(blobs));
  if (value instanceof MalformedProposal) throw new PeerWireError(`malformed proposal: ${value.message}`);
  return { ...env, value };
}

function readEntries(r: Reader): Entry[] {
  const count = r.num('entry count');
  // An entry takes at least 20 bytes.
  if (count * 20 > r.remaining()) throw new PeerWireError(`${count} entries in ${r.remaining()} bytes`);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) entries.push({ term: r.num('entry term'), index: r.num('entry index'), data: r.str() });
  return entries;
}

function readRaft(r: Reader, type: BinaryRaftType): RaftMessage {
  const base = { from: r.num('from'), to: r.num('to'), term: r.num('term') };
  switch (type) {
    case 'MsgVote':
    case 'MsgPreVote': {
      const vote = { type, ...base, lastIndex: r.num('lastIndex'), lastTerm: r.num('lastTerm') };
      if (r.remaining() === 0) return vote;
      // Only ever written as 1 (see encodeRaftWire): anything else is a bug or skew.
      if (r.u8() !== 1) throw new PeerWireError('a vote\'s trailing transfer flag is not 1');
      return { ...vote, transfer: true };
    }
    case 'MsgTransferLeader':
      return { type, ...base, transferee: r.num('transferee') };
    case 'MsgTimeoutNow':
      return { type, ...base };
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return { type, ...base, granted: r.flag('granted') };
    case 'MsgApp':
      return { type, ...base, prevIndex: r.num('prevIndex'), prevTerm: r.num('prevTerm'), commit: r.num('commit'), entries: readEntries(r) };
    case 'MsgAppResp':
      return { type, ...base, index: r.num('index'), rejected: r.flag('rejected') };
    case 'MsgHeartbeat': {
      const commit = r.num('commit');
      const context = r.optionalStr('context flag');
      return { type, ...base, commit, ...(context === undefined ? {} : { context }) };
    }
    case 'MsgHeartbeatResp': {
      const context = r.optionalStr('context flag');
      return { type, ...base, ...(context === undefined ? {} : { context }) };
    }
    case 'MsgReadIndex':
      return { type, ...base, context: r.str() };
    case 'MsgReadIndexResp':
      return { type, ...base, context: r.str(), index: r.num('index') };
  }
}

function read(r: Reader): WireMessage {
  const version = r.u8();
  if (version !== WIRE_VERSION) throw new PeerWireError(`peer message of wire version ${version}; this member reads ${WIRE_VERSION}`);
  const kindByte = r.u8();
  const kind = KIND_NAMES.get(kindByte);
  if (kind === undefined) throw new PeerWireError(`unknown peer message kind ${kindByte}`);
  if (kind === 'Proposal') {
    const { value: request, ...env } = readProposalWire(r, readRequest);
    return { kind, ...env, request };
  }
  if (kind === 'ProposalAnswer') {
    const { value: outcome, ...env } = readProposalWire(r, readOutcome);
    return { kind, ...env, outcome };
  }
  return { kind: 'raft', message: readRaft(r, kind) };
}

/** The message in `bytes`, or why it is not one this version reads. */
export function decodeWire(bytes: Uint8Array): WireMessage | PeerWireError {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  try {
    const message = read(r);
    r.end();
    return message;
  } catch (error) {
    if (error instanceof PeerWireError) return error;
    throw error;
  }
}

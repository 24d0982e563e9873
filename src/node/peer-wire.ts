/**
 * Peer messages as binary frames (for members that read them: see PEER_PROTOCOL in
 * src/transport/handshake.ts): every Raft message but MsgSnap (its checkpoint stays JSON, in
 * peer-codec.ts), and proposals forwarded to the leader with their answers.
 *
 * Layout: a version byte (WIRE_VERSION), a kind byte, then the fields in a fixed order. Numbers
 * are float64 (exact for the safe integers terms, indexes and ids are), strings and bytes follow
 * a uint32 length, an optional string a presence byte. An entry's data (the transaction's text)
 * goes as its UTF-8 bytes: no JSON escaping of JSON text inside JSON on the way out, no parse of
 * it on the way in. A proposal or its answer goes in one of two layouts (PROPOSAL_LAYOUT): field
 * by field (src/node/pipeline/proposal-binary.ts), or, to members of earlier builds, as its plain
 * value's JSON text (src/node/pipeline/proposal-values.ts) with its bytes beside it as raw blobs.
 *
 * Decoding checks every length, bound and value, and answers a PeerWireError (a value, never a
 * throw) for anything else: a peer's bug or version skew is dropped and logged, never stepped.
 */
import type { RaftMessage } from '../core/consensus/messages.ts';
import type { Entry } from '../core/consensus/types.ts';
import * as binary from './pipeline/proposal-binary.ts';
import { isId, type ProposalAnswer, type ProposalEnvelope, type ProposalMessage } from './pipeline/proposal-codec.ts';
import type { ProposalOutcome, ProposalRequest } from './pipeline/proposal.ts';
import { blobBytes, MalformedProposal, plainOutcome, plainRequest, readOutcome, readRequest, type BytesCodec } from './pipeline/proposal-values.ts';
import { PeerWireError, Reader, Writer } from './wire-bytes.ts';

export { PeerWireError } from './wire-bytes.ts';

/** Bumped with any change of layout; a member reading another version drops the message. */
export const WIRE_VERSION = 1;

/**
 * The newest layout of proposals and answers this member reads and writes: 1 = the plain value's
 * JSON text and its byte blobs (kinds 22 and 23), 2 = field by field (kinds 24 and 25). A member
 * reads both, and writes to a peer the newest the peer said it reads (its link acknowledgements
 * carry the number: src/transport/link-frames.ts), so members of builds before layout 2 go on
 * forwarding and being answered during a rolling upgrade.
 */
export const PROPOSAL_LAYOUT = 2;

export type WireMessage =
  | { readonly kind: 'raft'; readonly message: RaftMessage }
  | (ProposalMessage & { readonly kind: 'Proposal' })
  | (ProposalAnswer & { readonly kind: 'ProposalAnswer' });

type BinaryRaftType = Exclude<RaftMessage['type'], 'MsgSnap'>;

// 20 and 21 were whole HTTP requests forwarded to the leader (before proposals): not reused.
const KINDS: Readonly<Record<BinaryRaftType | 'Proposal' | 'ProposalAnswer' | 'Proposal2' | 'ProposalAnswer2', number>> = {
  MsgVote: 1, MsgPreVote: 2, MsgVoteResp: 3, MsgPreVoteResp: 4, MsgApp: 5, MsgAppResp: 6,
  MsgHeartbeat: 7, MsgHeartbeatResp: 8, MsgReadIndex: 9, MsgReadIndexResp: 10, MsgTransferLeader: 11, MsgTimeoutNow: 12,
  Proposal: 22, ProposalAnswer: 23, Proposal2: 24, ProposalAnswer2: 25,
};
const KIND_NAMES = new Map(Object.entries(KINDS).map(([name, kind]) => [kind, name as keyof typeof KINDS]));

/** The message as bytes (valid until the next encode), or undefined for MsgSnap (sent as JSON). */
export function encodeRaftWire(message: RaftMessage): Uint8Array | undefined {
  if (message.type === 'MsgSnap') return undefined;
  const w = new Writer(WIRE_VERSION, KINDS[message.type]);
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

function envelope(kind: number, env: ProposalEnvelope): Writer {
  const w = new Writer(WIRE_VERSION, kind);
  w.num(env.from);
  w.num(env.to);
  w.str(env.id);
  return w;
}

/** Layout 1: the envelope, the plain value's JSON text, then its byte blobs. */
function plainWire(kind: number, env: ProposalEnvelope, plain: (codec: BytesCodec) => unknown): Uint8Array {
  const blobs: Uint8Array[] = [];
  const text = JSON.stringify(plain(blobBytes(blobs)));
  const w = envelope(kind, env);
  w.str(text);
  w.num(blobs.length);
  for (const blob of blobs) w.bytes(blob);
  return w.done();
}

/** A member's proposal for the leader, as bytes (valid until the next encode) in `layout`. */
export function encodeProposalWire(message: ProposalMessage, layout = PROPOSAL_LAYOUT): Uint8Array {
  if (layout < 2) return plainWire(KINDS.Proposal, message, (codec) => plainRequest(message.request, codec));
  const w = envelope(KINDS.Proposal2, message);
  binary.writeRequest(w, message.request);
  return w.done();
}

/** The leader's answer to a proposal, as bytes (valid until the next encode) in `layout`. */
export function encodeAnswerWire(message: ProposalAnswer, layout = PROPOSAL_LAYOUT): Uint8Array {
  if (layout < 2) return plainWire(KINDS.ProposalAnswer, message, (codec) => plainOutcome(message.outcome, codec));
  const w = envelope(KINDS.ProposalAnswer2, message);
  binary.writeOutcome(w, message.outcome);
  return w.done();
}

function readEnvelope(r: Reader): ProposalEnvelope {
  const env = { from: r.num('from'), to: r.num('to'), id: r.str() };
  if (!isId(env.id)) throw new PeerWireError('a proposal id must be 1 to 64 characters');
  return env;
}

/** Layout 1 (see plainWire). */
function readPlainWire<T extends ProposalRequest | ProposalOutcome>(r: Reader, read: (raw: unknown, codec: BytesCodec) => T | MalformedProposal) {
  const env = readEnvelope(r);
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
  switch (kind) {
    case 'Proposal': {
      const { value: request, ...env } = readPlainWire(r, readRequest);
      return { kind, ...env, request };
    }
    case 'ProposalAnswer': {
      const { value: outcome, ...env } = readPlainWire(r, readOutcome);
      return { kind, ...env, outcome };
    }
    case 'Proposal2': {
      const env = readEnvelope(r);
      return { kind: 'Proposal', ...env, request: binary.readRequest(r) };
    }
    case 'ProposalAnswer2': {
      const env = readEnvelope(r);
      return { kind: 'ProposalAnswer', ...env, outcome: binary.readOutcome(r) };
    }
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

/**
 * The leadership-transfer messages on the binary peer wire (src/node/peer-wire.ts): MsgTimeoutNow
 * and MsgTransferLeader round-trip, a transfer's vote keeps its flag, and every other vote keeps
 * the layout members of the earlier version read (no trailing byte).
 */
import { describe, expect, it } from 'vitest';
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import { decodePeerMessage } from '../../src/node/peer-codec.ts';
import { decodeWire, encodeRaftWire } from '../../src/node/peer-wire.ts';

const roundTrip = (message: RaftMessage) => decodeWire(Buffer.from(encodeRaftWire(message)!));

describe('peer wire: leadership transfer', () => {
  it.each<RaftMessage>([
    { type: 'MsgTimeoutNow', from: 1, to: 2, term: 7 },
    { type: 'MsgTransferLeader', from: 3, to: 1, term: 0, transferee: 2 },
    { type: 'MsgVote', from: 2, to: 3, term: 8, lastIndex: 40, lastTerm: 7, transfer: true },
    { type: 'MsgVote', from: 2, to: 3, term: 8, lastIndex: 40, lastTerm: 7 },
  ])('round-trips $type', (message) => {
    expect(roundTrip(message)).toEqual({ kind: 'raft', message });
  });

  it('writes a vote without the transfer flag exactly as before (one byte shorter than a transfer\'s)', () => {
    const vote = { type: 'MsgVote', from: 2, to: 3, term: 8, lastIndex: 40, lastTerm: 7 } as const;
    const plain = encodeRaftWire(vote)!.length;
    expect(encodeRaftWire({ ...vote, transfer: true })!.length).toBe(plain + 1);
    // version, kind, then five float64 fields
    expect(plain).toBe(2 + 5 * 8);
  });

  it('drops a JSON MsgTransferLeader without a transferee', () => {
    expect(decodePeerMessage({ type: 'MsgTransferLeader', from: 3, to: 1, term: 0 })).toBeUndefined();
    expect(decodePeerMessage({ type: 'MsgTransferLeader', from: 3, to: 1, term: 0, transferee: 2 })).toMatchObject({ transferee: 2 });
  });
});

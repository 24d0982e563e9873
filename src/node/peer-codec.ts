/**
 * Raft messages on the wire between members: JSON, with a checkpoint's node data as base64.
 * Peers are authenticated (src/transport), so decoding guards against bugs and version skew,
 * not attackers: a message of unknown shape is dropped, never stepped.
 */
import type { RaftMessage, SnapshotRequest } from '../core/consensus/messages.ts';
import type { CheckpointImage } from '../core/tree/checkpoint-image.ts';
import { compactBytes } from '../core/tree/byte-slab.ts';
import { parseRequestRecord } from '../core/tree/request-record.ts';
import type { RequestRecord } from '../core/tree/request-table.ts';
import type { Znode } from '../core/tree/znode.ts';

const TYPES = new Set<string>([
  'MsgVote', 'MsgPreVote', 'MsgVoteResp', 'MsgPreVoteResp', 'MsgApp', 'MsgAppResp', 'MsgHeartbeat',
  'MsgHeartbeatResp', 'MsgSnap', 'MsgReadIndex', 'MsgReadIndexResp',
]);

type WireNode = Omit<Znode, 'data'> & { readonly data: string };

/** Not Raft: a follower telling the leader which sessions it heard from (they must not expire). */
export interface SessionTouch {
  readonly type: 'SessionTouch';
  readonly from: number;
  readonly to: number;
  readonly sessions: readonly number[];
}

/** A SessionTouch, or undefined when `raw` is not one. */
export function decodeSessionTouch(raw: unknown): SessionTouch | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (m['type'] !== 'SessionTouch' || !isCount(m['from']) || !isCount(m['to'])) return undefined;
  const sessions = m['sessions'];
  if (!Array.isArray(sessions) || !sessions.every(isCount)) return undefined;
  return raw as SessionTouch;
}

export function encodePeerMessage(message: RaftMessage): unknown {
  if (message.type !== 'MsgSnap' || message.checkpoint === undefined) return message;
  const image = message.checkpoint;
  const nodes: WireNode[] = image.nodes.map((n) => ({ ...n, data: Buffer.from(n.data.buffer, n.data.byteOffset, n.data.length).toString('base64') }));
  return { ...message, checkpoint: { ...image, nodes } };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The message, or undefined when it is not one this version understands. */
export function decodePeerMessage(raw: unknown): RaftMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const m = raw as Record<string, unknown>;
  if (typeof m['type'] !== 'string' || !TYPES.has(m['type']) || !isCount(m['from']) || !isCount(m['to']) || !isCount(m['term'])) {
    return undefined;
  }
  if (m['type'] === 'MsgApp' && !Array.isArray(m['entries'])) return undefined;
  if (m['type'] !== 'MsgSnap' || m['checkpoint'] === undefined) return raw as RaftMessage;
  const image = m['checkpoint'] as Record<string, unknown>;
  if (!isCount(image['index']) || !isCount(image['term']) || !isCount(image['zxid']) ||
    !Array.isArray(image['nodes']) || !Array.isArray(image['sessions'])) return undefined;
  const requests = requestsOf(image['requests']);
  if (!requests) return undefined;
  const nodes = (image['nodes'] as WireNode[]).map((n) => ({ ...n, data: compactBytes(Buffer.from(n.data, 'base64')) }));
  // Checked as far as the fields above: the peer is authenticated, so this guards version skew.
  const checkpoint = { ...image, nodes, requests } as unknown as CheckpointImage;
  return { ...(raw as SnapshotRequest), checkpoint };
}

/**
 * A checkpoint's request-id table, each record checked (its result is answered to clients as is);
 * none from a leader of a version before the table was replicated.
 */
function requestsOf(raw: unknown): RequestRecord[] | undefined {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return undefined;
  const records: RequestRecord[] = [];
  for (const item of raw) {
    const record = parseRequestRecord(item);
    if (!record) return undefined;
    records.push(record);
  }
  return records;
}

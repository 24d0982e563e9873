/**
 * Raft messages on the wire between members: JSON, with a checkpoint's node data as base64.
 * Peers are authenticated (src/transport), so decoding guards against bugs and version skew,
 * not attackers: a message of unknown shape is dropped, never stepped.
 */
import type { RaftMessage, SnapshotRequest } from '../core/consensus/messages.ts';
import { AclCache, OPEN_ACL, parseAclJson, type Acl } from '../core/acl/acl.ts';
import type { CheckpointImage } from '../core/tree/checkpoint-image.ts';
import { compactBytes } from '../core/tree/byte-slab.ts';
import { parseRequestRecord } from '../core/tree/request-record.ts';
import type { RequestRecord } from '../core/tree/request-table.ts';
import type { Znode } from '../core/tree/znode.ts';

const TYPES = new Set<string>([
  'MsgVote', 'MsgPreVote', 'MsgVoteResp', 'MsgPreVoteResp', 'MsgApp', 'MsgAppResp', 'MsgHeartbeat',
  'MsgHeartbeatResp', 'MsgSnap', 'MsgReadIndex', 'MsgReadIndexResp', 'MsgTransferLeader', 'MsgTimeoutNow',
]);

/** A node on the wire: its data as base64, its ACL as an index into the image's `acls`. */
type WireNode = Omit<Znode, 'data' | 'acl'> & { readonly data: string; readonly acl: number };

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
  const acls = new Map<Acl, number>();
  const indexOf = (acl: Acl) => acls.get(acl) ?? (acls.set(acl, acls.size), acls.size - 1);
  const nodes: WireNode[] = image.nodes.map((n) => ({ ...n, data: Buffer.from(n.data.buffer, n.data.byteOffset, n.data.length).toString('base64'), acl: indexOf(n.acl) }));
  return { ...message, checkpoint: { ...image, nodes, acls: [...acls.keys()] } };
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
  if (m['type'] === 'MsgTransferLeader' && !isCount(m['transferee'])) return undefined;
  if (m['type'] !== 'MsgSnap' || m['checkpoint'] === undefined) return raw as RaftMessage;
  const image = m['checkpoint'] as Record<string, unknown>;
  if (!isCount(image['index']) || !isCount(image['term']) || !isCount(image['zxid']) ||
    !Array.isArray(image['nodes']) || !Array.isArray(image['sessions'])) return undefined;
  const requests = requestsOf(image['requests']);
  if (!requests) return undefined;
  const acls = aclsOf(image['acls']);
  if (!acls) return undefined;
  const nodes: Znode[] = [];
  for (const n of image['nodes'] as WireNode[]) {
    const acl = acls[n.acl];
    if (acl === undefined) return undefined;
    nodes.push({ ...n, data: compactBytes(Buffer.from(n.data, 'base64')), acl });
  }
  // Checked as far as the fields above: the peer is authenticated, so this guards version skew.
  const checkpoint = { ...image, nodes, requests } as unknown as CheckpointImage;
  return { ...(raw as SnapshotRequest), checkpoint };
}

/** A checkpoint's distinct ACLs, shared by its nodes; none (all open) from a leader of a version before ACLs. */
function aclsOf(raw: unknown): Acl[] | undefined {
  if (raw === undefined) return [OPEN_ACL];
  if (!Array.isArray(raw)) return undefined;
  const cache = new AclCache();
  const acls: Acl[] = [];
  for (const item of raw) {
    const acl = parseAclJson(item);
    if ('code' in acl) return undefined;
    acls.push(cache.intern(acl));
  }
  return acls;
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

/**
 * A whole tree at one log position: what a checkpoint holds, and what a leader sends a follower
 * whose next entries its log no longer has (Raft's snapshot, carried by MsgSnap). Pure data.
 */
import type { SessionRecord } from '../session/session-table.ts';
import type { RequestRecord } from './request-table.ts';
import type { WatchRecord } from '../watch/watch-registry.ts';
import type { Znode } from './znode.ts';

export interface CheckpointImage {
  readonly index: number;
  readonly term: number;
  readonly zxid: number;
  readonly nodes: readonly Znode[];
  readonly sessions: readonly SessionRecord[];
  readonly watches: readonly WatchRecord[];
  /** The request-id table (exactly-once writes), oldest first. */
  readonly requests: readonly RequestRecord[];
}

/**
 * A backup's image of a live member: its applied state at one zxid, captured in one synchronous
 * step, as the checkpointer captures its own (checkpointer.ts). Znode records are immutable, so
 * the image is a list of references: taking it costs one pass over the tree and no copy of the
 * data, writes go on at once, and the image stays exactly the state at its zxid while it is
 * streamed out (what the writes after it replace stays alive until the stream is done with it).
 *
 * Why the applied state rather than the latest stored checkpoint: the checkpoint may be up to
 * --checkpoint-every-entries behind, and streaming it out of SQLite would keep a statement open
 * on the node's only connection (better-sqlite3 runs nothing else on it meanwhile).
 */
import { epochOf, indexOf } from '../core/consensus/zxid.ts';
import type { CheckpointImage } from '../core/tree/checkpoint-image.ts';
import type { DataTree } from '../core/tree/data-tree.ts';

export function backupImageOf(tree: DataTree): CheckpointImage {
  const zxid = tree.appliedZxid;
  return {
    index: indexOf(zxid), term: epochOf(zxid), zxid, nodes: tree.snapshot(), sessions: tree.sessions.all(), watches: tree.watches.all(),
    requests: tree.requests.all(),
  };
}

/**
 * What follows the tree as the host loop applies the log: each applier sees every transaction
 * after the tree applied it and before its write is answered, in the order of the host's list
 * (wired once, in src/node/corral-node.ts: ZooKeeper's setupRequestProcessors). Called inside
 * the apply loop: an applier must not throw, and should not linger.
 */
import type { Role } from '../core/consensus/types.ts';
import type { DataTree } from '../core/tree/data-tree.ts';
import type { ApplyOutput } from '../core/tree/results.ts';
import type { TxnEnvelope } from '../core/tree/txn.ts';

export interface Applier {
  /** `envelope`, applied to the tree as `zxid`, gave `output`. */
  applied?(output: ApplyOutput, zxid: number, envelope: TxnEnvelope): void;
  /**
   * The tree was replaced by the leader's checkpoint at `zxid`: the transactions up to it were not
   * applied here one by one, so their events are unknown. `previous` is the tree before.
   */
  checkpointInstalled?(zxid: number, previous: DataTree): void;
  /** This member's role changed, or it leads again in a later term (leader duties start and stop). */
  roleChanged?(role: Role, term: number): void;
}

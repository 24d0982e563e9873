/**
 * Invariants checked after every simulated step (Raft paper, Figure 3):
 * - Election Safety: at most one leader per term.
 * - State Machine Safety: the entry applied at an index is the same on every node.
 * - Leader Completeness: a new leader's log holds every entry applied anywhere.
 * - Applied indexes only grow, one at a time, within a node's state machine; commit ≤ last.
 * - Client acknowledgements: a value acknowledged as committed (applied by the leader that
 *   accepted it) is never lost, and no value is ever applied twice.
 * - Observers (learners) are always followers: they never stand, so never lead (with membership
 *   changes: nor does a member that votes in neither its latest nor its committed configuration).
 */
import { isConfChangeData } from '../../src/core/consensus/conf-change.ts';
import type { Entry } from '../../src/core/consensus/types.ts';
import type { SimCluster, SimNode } from './cluster.ts';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}

interface Proposal {
  readonly value: string;
  readonly leader: number;
  readonly term: number;
  readonly index: number;
  state: 'pending' | 'acked' | 'abandoned';
}

export class Checker {
  private readonly leaderOfTerm = new Map<number, number>();
  /** The first entry applied at each index, by any node. */
  readonly committed = new Map<number, Entry>();
  private readonly appliedBy = new Map<string, number>();
  private readonly wasLeader = new Set<number>();
  readonly proposals = new Map<string, Proposal>();
  private readonly byLeaderIndex = new Map<string, Proposal>();

  propose(value: string, leader: number, term: number, index: number): void {
    const proposal: Proposal = { value, leader, term, index, state: 'pending' };
    this.proposals.set(value, proposal);
    this.byLeaderIndex.set(`${leader}:${index}`, proposal);
  }

  onApply(node: SimNode, entry: Entry): void {
    check(entry.index === node.applied.length, `n${node.id} applied ${entry.index} after ${node.applied.length - 1}: applied indexes must grow by one`);
    const known = this.committed.get(entry.index);
    if (known) {
      check(known.term === entry.term && known.data === entry.data,
        `State Machine Safety: n${node.id} applied ${fmt(entry)} at ${entry.index}, another node applied ${fmt(known)}`);
    } else {
      this.committed.set(entry.index, entry);
      // Membership changes are not client values: the same change may come again (re-adding a member).
      if (entry.data !== '' && !isConfChangeData(entry.data)) {
        const seen = this.appliedBy.get(entry.data);
        check(seen === undefined, `value ${entry.data} committed twice: at ${seen} and ${entry.index}`);
        this.appliedBy.set(entry.data, entry.index);
      }
    }
    const proposal = this.byLeaderIndex.get(`${node.id}:${entry.index}`);
    if (proposal?.state === 'pending') proposal.state = entry.data === proposal.value ? 'acked' : 'abandoned';
    const acked = entry.data === '' ? undefined : this.proposals.get(entry.data);
    if (acked) check(acked.index === entry.index, `${entry.data} proposed at ${acked.index} applied at ${entry.index}`);
  }

  afterStep(cluster: SimCluster): void {
    for (const node of cluster.nodes) {
      const status = node.raft?.status();
      check(!status?.learner || status.role === 'follower', `observer n${node.id} became ${status?.role}: a learner never stands`);
      if (!status || status.role !== 'leader') {
        this.wasLeader.delete(node.id);
        if (status) check(status.commitIndex <= status.lastIndex, `n${node.id} commit ${status.commitIndex} > last ${status.lastIndex}`);
        continue;
      }
      const holder = this.leaderOfTerm.get(status.term);
      check(holder === undefined || holder === node.id, `Election Safety: n${holder} and n${node.id} both led term ${status.term}`);
      this.leaderOfTerm.set(status.term, node.id);
      if (!this.wasLeader.has(node.id)) this.checkLeaderCompleteness(node, status.term);
      this.wasLeader.add(node.id);
    }
  }

  private checkLeaderCompleteness(node: SimNode, term: number): void {
    const log = node.raft!.log;
    for (const [index, entry] of this.committed) {
      check(log.term(index) === entry.term,
        `Leader Completeness: n${node.id} leads term ${term} without committed ${fmt(entry)} at ${index} (has term ${log.term(index)})`);
    }
  }

  /** Log Matching on what each node persisted: the same (index, term) means the same prefix. */
  checkLogMatching(cluster: SimCluster): void {
    const logs = cluster.nodes.map((n) => n.store.entries(1, n.store.lastIndex() + 1, Number.MAX_SAFE_INTEGER));
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const [x, y] = [logs[a]!, logs[b]!];
        let i = Math.min(x.length, y.length) - 1;
        while (i >= 0 && x[i]!.term !== y[i]!.term) i--;
        for (; i >= 0; i--) {
          check(x[i]!.term === y[i]!.term && x[i]!.data === y[i]!.data,
            `Log Matching: n${a + 1} has ${fmt(x[i]!)}, n${b + 1} has ${fmt(y[i]!)} below a common entry`);
        }
      }
    }
  }

  /** After convergence: `log` is the final committed log; every proposal is decided by it. */
  checkFinal(log: readonly Entry[]): { acked: number; committed: number; abandoned: number } {
    const counts = { acked: 0, committed: 0, abandoned: 0 };
    for (const proposal of this.proposals.values()) {
      const entry = log[proposal.index - 1];
      const inLog = entry?.data === proposal.value;
      if (proposal.state === 'acked') {
        check(inLog, `acknowledged ${proposal.value} (index ${proposal.index}, term ${proposal.term}) was lost: final log has ${entry ? fmt(entry) : 'nothing'}`);
        counts.acked++;
      } else if (inLog) counts.committed++;
      else counts.abandoned++;
    }
    return counts;
  }
}

function fmt(entry: Entry): string {
  return `${entry.index}@t${entry.term}:${entry.data === '' ? '<empty>' : entry.data}`;
}

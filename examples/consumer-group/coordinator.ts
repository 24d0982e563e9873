/**
 * The coordinator: the one worker that leads the group's election (a LeaderLatch) keeps the
 * assignment znode in line with the live workers (a ServiceCache of the group's registrations,
 * which the server deletes when a worker's session ends) and the config (partition count).
 *
 * Writes are version-checked and carry the coordinator's epoch (its latch node's czxid): a
 * coordinator that lost the election without knowing yet either loses the compare-and-set or
 * reads an assignment with a larger epoch and stands down. Owners of a new assignment are only
 * workers the cache shows as registered; a worker that died after the cache last saw it is moved
 * off once its registration goes.
 */
import type { CorralClient, ServiceCache } from '../../src/client/index.ts';
import { assign, parseAssignment, type Assignment, type GroupConfig } from './assignment.ts';
import { isCode, type GroupPaths, type Reporter } from './group.ts';

export type CoordinatorStep = 'unchanged' | 'written' | 'retry' | 'superseded';

export class Coordinator {
  constructor(
    private readonly client: CorralClient,
    private readonly paths: GroupPaths,
    private readonly members: ServiceCache,
    private readonly self: string,
    readonly epoch: bigint,
    private readonly report: Reporter,
  ) {}

  /** Writes a new assignment when the live workers or the partition count changed. */
  async step(config: GroupConfig): Promise<CoordinatorStep> {
    const live = this.members.instances().map((instance) => instance.id).sort();
    const read = await this.client.getData(this.paths.assignment, { as: 'string' }).catch((error: unknown) => {
      if (isCode(error, 'NONODE')) return undefined;
      throw error;
    });
    const current = read && parseAssignment(read.data);
    if (current && BigInt(current.epoch) > this.epoch) {
      this.report.event('superseded', { epoch: this.epoch, storedEpoch: current.epoch }, `a newer coordinator (epoch ${current.epoch}) owns the assignment: standing down`);
      return 'superseded';
    }
    const owners = assign(config.partitions, live, current?.owners ?? []);
    if (current && sameOwners(current.owners, owners) && current.epoch === String(this.epoch)) return 'unchanged';
    const next: Assignment = { generation: (current?.generation ?? 0) + 1, epoch: String(this.epoch), coordinator: this.self, owners };
    const written = await this.write(next, read?.version);
    if (!written) return 'retry';
    this.report.event('assigned', { generation: next.generation, owners, members: live }, `generation ${next.generation}: ${describe(owners)}`);
    return 'written';
  }

  /** Conditional on the version read (create when there was none): false when someone wrote first. */
  private async write(next: Assignment, version: number | undefined): Promise<boolean> {
    const data = JSON.stringify(next);
    try {
      if (version === undefined) await this.client.create(this.paths.assignment, data);
      else await this.client.setData(this.paths.assignment, data, { version });
      return true;
    } catch (error) {
      if (isCode(error, 'BADVERSION') || isCode(error, 'NODEEXISTS')) return false;
      throw error;
    }
  }
}

function sameOwners(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((owner, partition) => owner === b[partition]);
}

/** `w1: 0,3 · w2: 1,4` for the text output. */
function describe(owners: readonly string[]): string {
  const byWorker = new Map<string, number[]>();
  owners.forEach((owner, partition) => byWorker.set(owner || '(none)', [...(byWorker.get(owner || '(none)') ?? []), partition]));
  return [...byWorker.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([worker, partitions]) => `${worker}: ${partitions.join(',')}`).join(' · ');
}

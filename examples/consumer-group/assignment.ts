/**
 * The consumer group's data, as pure functions: what the config, assignment and offset znodes
 * hold (JSON, checked when read: a znode anyone may write is input, not truth), and the
 * coordinator's assignment rule. No I/O here, so the rule is tested on its own.
 *
 * Assignment rule: balanced (every worker gets floor(P/W) or ceil(P/W) partitions) and sticky (a
 * partition stays with its owner while that owner is alive and not over its share), so a join or
 * a death moves as few partitions, and as few offsets hand-overs, as it can.
 */

export const PARTITIONS_MAX = 1024;
export const BATCH_SIZE_MAX = 1000;

/** `<base>/config`: how the topic is split and how much a worker takes per step. */
export interface GroupConfig {
  readonly partitions: number;
  readonly batchSize: number;
}

/** `<base>/assignment`: which worker owns each partition, in one generation. */
export interface Assignment {
  /** Grows by one with every assignment written; a worker claims a partition for one generation. */
  readonly generation: number;
  /** The coordinator's election epoch (its latch node's czxid, decimal): an older coordinator's writes are refused. */
  readonly epoch: string;
  readonly coordinator: string;
  /** Index = partition; value = the owning worker's id. */
  readonly owners: readonly string[];
}

/** `<base>/offsets/<partition>`: the next record to process, and who committed it for which generation. */
export interface OffsetRecord {
  readonly offset: number;
  readonly owner: string;
  readonly generation: number;
}

const isCount = (value: unknown, max: number): value is number => Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= max;
const isNatural = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The config as stored, or undefined when it is not a valid one (the group keeps its last good config). */
export function parseConfig(text: string): GroupConfig | undefined {
  const value = parseObject(text);
  if (!value || !isCount(value.partitions, PARTITIONS_MAX) || !isCount(value.batchSize, BATCH_SIZE_MAX)) return undefined;
  return { partitions: value.partitions, batchSize: value.batchSize };
}

export function parseAssignment(text: string): Assignment | undefined {
  const value = parseObject(text);
  if (!value || !isNatural(value.generation) || typeof value.epoch !== 'string' || !/^\d+$/.test(value.epoch)) return undefined;
  if (typeof value.coordinator !== 'string' || !Array.isArray(value.owners) || value.owners.length > PARTITIONS_MAX) return undefined;
  if (!value.owners.every((owner) => typeof owner === 'string')) return undefined;
  return { generation: value.generation, epoch: value.epoch, coordinator: value.coordinator, owners: value.owners as string[] };
}

export function parseOffset(text: string): OffsetRecord | undefined {
  const value = parseObject(text);
  if (!value || !isNatural(value.offset) || typeof value.owner !== 'string' || !isNatural(value.generation)) return undefined;
  return { offset: value.offset, owner: value.owner, generation: value.generation };
}

/** The partitions `worker` owns in `assignment`. */
export function partitionsOf(assignment: Assignment | undefined, worker: string): number[] {
  const mine: number[] = [];
  assignment?.owners.forEach((owner, partition) => owner === worker && mine.push(partition));
  return mine;
}

/**
 * Owners for `partitionCount` partitions among `members` (balanced, sticky to `previous`).
 * No members: every partition is unowned ('').
 */
export function assign(partitionCount: number, members: readonly string[], previous: readonly string[]): string[] {
  const workers = [...new Set(members)].sort();
  if (workers.length === 0) return new Array<string>(partitionCount).fill('');
  const base = Math.floor(partitionCount / workers.length);
  let extraSlots = partitionCount % workers.length; // how many workers may hold base + 1
  const load = new Map(workers.map((worker) => [worker, 0]));
  const owners = new Array<string>(partitionCount).fill('');
  const take = (partition: number, worker: string): boolean => {
    const held = load.get(worker);
    if (held === undefined || held > base || (held === base && extraSlots === 0)) return false;
    if (held === base) extraSlots--;
    load.set(worker, held + 1);
    owners[partition] = worker;
    return true;
  };
  for (let partition = 0; partition < partitionCount; partition++) take(partition, previous[partition] ?? '');
  for (let partition = 0; partition < partitionCount; partition++) {
    if (owners[partition] !== '') continue;
    const byLoad = [...workers].sort((a, b) => load.get(a)! - load.get(b)! || (a < b ? -1 : 1));
    const taken = byLoad.some((worker) => take(partition, worker));
    if (!taken) throw new Error(`assign: no worker could take partition ${partition}`); // unreachable: the quotas add up to partitionCount
  }
  return owners;
}

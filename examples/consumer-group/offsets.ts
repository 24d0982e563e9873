/**
 * Per-partition offsets, committed with a version check: the fencing point of the example.
 *
 * A worker that is assigned a partition *claims* its offset znode: it reads it and writes it back
 * (same offset, itself as owner, its generation) conditional on the version it read. Every
 * commit after that is conditional on the version its previous write produced. So once a new
 * owner has claimed the partition, the old owner's next commit fails with BADVERSION and it stops
 * consuming that partition: a worker that lost a partition without knowing yet (a long pause, its
 * session expired, an assignment it has not seen) cannot overwrite the new owner's offset, and
 * the offset never goes backwards. A claim for an older generation than the one stored is refused
 * too, so a worker acting on a stale assignment cannot take a partition back.
 *
 * Delivery is at-least-once: records processed after the last commit of an owner that lost the
 * partition are processed again by the new owner, from the last committed offset.
 */
import type { CorralClient } from '../../src/client/index.ts';
import { parseOffset, type OffsetRecord } from './assignment.ts';
import { isCode } from './group.ts';

/** What a worker holds for one partition it owns: the offset and the version its last write made. */
export interface OwnedPartition {
  readonly partition: number;
  readonly generation: number;
  offset: number;
  version: number;
}

export type ClaimOutcome =
  | { readonly ok: true; readonly owned: OwnedPartition; readonly previousOwner: string }
  | { readonly ok: false; readonly reason: 'newer-generation'; readonly stored: OffsetRecord };

/** Claims tried before giving up for this step (each lost race means someone else wrote in between). */
const CLAIM_ATTEMPTS_MAX = 10;

const encode = (record: OffsetRecord) => JSON.stringify(record);

/** Takes ownership of a partition's offset for `generation` (creating the node at offset 0). */
export async function claim(client: CorralClient, path: string, partition: number, worker: string, generation: number): Promise<ClaimOutcome> {
  for (let attempt = 1; attempt <= CLAIM_ATTEMPTS_MAX; attempt++) {
    const read = await client.getData(path, { as: 'string' }).catch((error: unknown) => {
      if (isCode(error, 'NONODE')) return undefined;
      throw error;
    });
    if (read === undefined) {
      const created = await client.create(path, encode({ offset: 0, owner: worker, generation })).then(() => true, (error: unknown) => {
        if (isCode(error, 'NODEEXISTS')) return false; // another claimant created it first: read it again
        throw error;
      });
      if (created) return { ok: true, owned: { partition, generation, offset: 0, version: 0 }, previousOwner: '' };
      continue;
    }
    // A node that is not an offset record (someone wrote garbage) restarts the partition at 0.
    const stored = parseOffset(read.data) ?? { offset: 0, owner: '', generation: 0 };
    if (stored.generation > generation) return { ok: false, reason: 'newer-generation', stored };
    const written = await write(client, path, { offset: stored.offset, owner: worker, generation }, read.version);
    if (written !== undefined) return { ok: true, owned: { partition, generation, offset: stored.offset, version: written }, previousOwner: stored.owner };
  }
  throw new Error(`claiming ${path}: lost the race ${CLAIM_ATTEMPTS_MAX} times in a row`);
}

/**
 * Commits `offset` for a partition this worker owns. Answers false when it is fenced off
 * (BADVERSION: someone claimed the partition since; NONODE: an operator deleted it).
 */
export async function commit(client: CorralClient, path: string, owned: OwnedPartition, worker: string, offset: number): Promise<boolean> {
  const written = await write(client, path, { offset, owner: worker, generation: owned.generation }, owned.version).catch((error: unknown) => {
    if (isCode(error, 'NONODE')) return undefined;
    throw error;
  });
  if (written === undefined) return false;
  owned.offset = offset;
  owned.version = written;
  return true;
}

/** A conditional setData: the new version, or undefined when the version moved (BADVERSION). */
async function write(client: CorralClient, path: string, record: OffsetRecord, version: number): Promise<number | undefined> {
  try {
    return (await client.setData(path, encode(record), { version })).version;
  } catch (error) {
    if (isCode(error, 'BADVERSION')) return undefined;
    throw error;
  }
}

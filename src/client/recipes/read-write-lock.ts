/**
 * A fair read-write lock (Curator's InterProcessReadWriteLock; ZooKeeper's "Shared Locks"
 * recipe): readers and writers queue as ephemeral-sequential members `read` and `write` of one
 * path, in sequence order. A reader holds once no writer is before it, and watches only the last
 * writer before it; a writer holds once it is first, and watches only the member just before it.
 * So a writer waits for everyone before it, a reader waits only for the writers before it, and a
 * reader arriving after a waiting writer queues behind it (writers are not starved). One deletion
 * wakes only the waiters it unblocks: the one member behind a writer's predecessor, or the readers
 * whose last writer it was (all of which then hold).
 *
 * Each side is a Lock (reentrant when asked), with the node's czxid as fencing token; a resource
 * checks them with ReadWriteFencingGuard.
 */
import type { CorralSession } from '../session.ts';
import { Lock, type QueueRule } from './lock.ts';
import { isMarked, predecessor, type BlockerOf } from './sequential.ts';

const READ = 'read';
const WRITE = 'write';
const QUEUE = [READ, WRITE] as const;

/** A reader's rule: the last writer before it, if any. */
export const lastWriterBefore: BlockerOf = (members, at) => {
  for (let i = at - 1; i >= 0; i--) if (isMarked(members[i]!, WRITE)) return members[i];
  return undefined;
};

export const READ_RULE: QueueRule = { marker: READ, queue: QUEUE, blockerOf: lastWriterBefore };
export const WRITE_RULE: QueueRule = { marker: WRITE, queue: QUEUE, blockerOf: predecessor };

export interface ReadWriteLockOptions {
  /** Each side may be acquired again by the same object while held (counted; default false). */
  readonly reentrant?: boolean;
}

export class ReadWriteLock {
  /** Shared: held together with other readers, never with a writer. */
  readonly readLock: Lock;
  /** Exclusive: held by no one else. */
  readonly writeLock: Lock;

  /** `path`: the lock's node (created as a persistent node, with its ancestors, when missing). */
  constructor(readonly session: CorralSession, readonly path: string, options: ReadWriteLockOptions = {}) {
    this.readLock = new Lock(session, path, { reentrant: options.reentrant, rule: READ_RULE });
    this.writeLock = new Lock(session, path, { reentrant: options.reentrant, rule: WRITE_RULE });
  }
}

/**
 * A resource's check of read-write lock tokens: a write is accepted only with a token at least as
 * large as every token accepted (read or write) before it; a read only with a token at least as
 * large as every accepted write's. A holder that lost the lock without knowing (its session
 * expired) has a token smaller than the next writer's, or the next holder's after it wrote.
 */
export class ReadWriteFencingGuard {
  private highest = -1n;
  private highestWrite = -1n;

  admitRead(token: bigint): boolean {
    if (token < this.highestWrite) return false;
    if (token > this.highest) this.highest = token;
    return true;
  }

  admitWrite(token: bigint): boolean {
    if (token < this.highest) return false;
    this.highest = token;
    this.highestWrite = token;
    return true;
  }
}

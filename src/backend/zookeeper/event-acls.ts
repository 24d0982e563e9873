/**
 * The ACLs the session-less /v1/watch streams filter by on a gateway. The embedded store sends a
 * stream only events about nodes its caller may READ, by the node's ACL at the change (ZooKeeper
 * 3.9.2's rule, src/http/watch-stream.ts). A gateway's streams share one ZooKeeper watch on its
 * own connection, and ZooKeeper 3.8 fires persistent watches without any ACL check, so without
 * this every subscriber would hear of every node below its path, readable or not.
 *
 * Each event is given its node's ACL as the gateway's connection reads it right after the event
 * (getACL, pipelined; READ or ADMIN needed, digest hashes shown only with ADMIN: a hidden hash
 * matches no caller). A deleted node's ACL is the last one read for its path here (a watched
 * node's own is read when its watch is set). When no ACL is known (a node deleted before its ACL was ever read, a failed read) the answer is `unknown`:
 * the caller tells the streams to read state again rather than guess. Where the gateway may not
 * read the ACL at all (NOAUTH), nobody hears of the node.
 */
import type { Acl } from '../../core/acl/acl.ts';
import { OldestFirst } from '../../core/oldest-first.ts';
import type { ZooKeeperClient } from '../../zookeeper-client/client.ts';

export const UNKNOWN = 'unknown';

/** Matches no caller (permits() lets an empty ACL through, as ZooKeeper does; a zero mask grants nothing). */
const NOBODY: Acl = Object.freeze([Object.freeze({ perms: 0, scheme: 'world', id: 'anyone' })]);

interface EventAbout {
  readonly type: string;
  readonly path: string;
}

export class EventAcls {
  /** Last ACL read per path, oldest first (Map order), for deletions. */
  private readonly last = new Map<string, Acl>();
  private readonly leastRecent = new OldestFirst(this.last);

  /** The lookups asked so far: a deletion reads what they remembered (a node created, then deleted). */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly client: () => ZooKeeperClient, private readonly remembered: number) {}

  /** Each event's ACL (undefined for the watch-removal events, which are about no node's content), or UNKNOWN. */
  lookup(events: readonly EventAbout[]): Promise<ReadonlyArray<Acl | undefined | typeof UNKNOWN>> {
    const prior = this.tail;
    const answers = Promise.all(events.map((e) => (e.type === 'NodeDeleted' ? prior.then(() => this.deleted(e.path)) : this.aclOf(e))));
    this.tail = answers;
    return answers;
  }

  /** Reads and remembers a watched node's ACL when its watch is set: its own deletion is then known. */
  warm(path: string): void {
    const read = this.aclOf({ type: 'NodeCreated', path }).catch(() => undefined);
    this.tail = Promise.all([this.tail, read]);
  }

  private deleted(path: string): Acl | typeof UNKNOWN {
    const acl = this.last.get(path);
    this.last.delete(path);
    return acl ?? UNKNOWN;
  }

  private async aclOf(e: EventAbout): Promise<Acl | undefined | typeof UNKNOWN> {
    if (e.type === 'DataWatchRemoved' || e.type === 'ChildWatchRemoved') return undefined;
    const answer = await this.client().getACL(e.path);
    if ('code' in answer) {
      if (answer.code !== 'NOAUTH') return answer.code === 'NONODE' ? this.last.get(e.path) ?? UNKNOWN : UNKNOWN;
      this.remember(e.path, NOBODY);
      return NOBODY;
    }
    const acl: Acl = answer.acl;
    this.remember(e.path, acl);
    return acl;
  }

  private remember(path: string, acl: Acl): void {
    this.last.delete(path);
    this.last.set(path, acl);
    if (this.last.size > this.remembered) this.leastRecent.take();
  }
}

/**
 * Where a gateway session's WatchRecord lives: an ephemeral znode of the session itself,
 * `/.corral-gateway/watches/<session id, hex>` under the gateway's chroot, so any gateway that
 * takes the session over reads it, and it goes with the session when the ensemble ends it.
 * Written over the session's own connection; writes are coalesced (one in flight, the next
 * carries every change made meanwhile), and save() resolves once a write that began after the
 * call has finished, so a caller that awaits it knows the ensemble holds its change.
 */
import type { ZkError } from '../../core/errors.ts';
import type { ZooKeeperClient } from '../../zookeeper-client/client.ts';
import { OPEN_ACL_UNSAFE, type ZkAclEntry } from '../../zookeeper-client/records.ts';
import type { ZkAuth } from './session-token.ts';
import { WatchRecord } from './watch-record.ts';

export const RECORD_ROOT = '/.corral-gateway';
const RECORD_PARENT = `${RECORD_ROOT}/watches`;
/** Below ZooKeeper's default jute.maxbuffer (1 MiB); a bigger record is written as unreadable: a takeover then says overflow. */
const RECORD_BYTES_MAX = 900 * 1024;
const UNREADABLE = new TextEncoder().encode('{"v":0}');
/**
 * The parents are every session's, whichever identity its connection has (the opener's digest or
 * the gateway's): anyone may list and make records (READ|CREATE) and remove them (DELETE, so a
 * cleanup can); a record itself is readable only by its session's identity (see RecordWriter's acl).
 */
const PARENT_ACL: readonly ZkAclEntry[] = [{ perms: 1 | 4 | 8, scheme: 'world', id: 'anyone' }];

/**
 * The records' parents (persistent, made once, by whichever gateway comes first): when a record
 * is first written, and before a caller's create of RECORD_ROOT is sent, so that create finds it
 * made (NODEEXISTS) rather than giving it an ACL that keeps the sessions' records out.
 */
export async function makeRecordParents(client: ZooKeeperClient): Promise<ZkError | undefined> {
  for (const parent of [RECORD_ROOT, RECORD_PARENT]) {
    const made = await client.create({ path: parent, data: new Uint8Array(0), acl: PARENT_ACL, mode: 'persistent' });
    if ('code' in made && made.code !== 'NODEEXISTS') return made;
  }
  return undefined;
}

/** A record's ACL: the identity of the session's connection when it has one (the paths watched are the session's business). */
export function recordAclOf(auth: readonly ZkAuth[]): readonly ZkAclEntry[] {
  return auth.length > 0 ? [{ perms: 31, scheme: 'auth', id: '' }] : OPEN_ACL_UNSAFE;
}

export function recordPathOf(sessionId: bigint): string {
  return `${RECORD_PARENT}/${BigInt.asUintN(64, sessionId).toString(16).padStart(16, '0')}`;
}

/** The session's record; an empty one when it has none (it never set a watch); undefined when unreadable. */
export async function loadRecord(client: ZooKeeperClient, sessionId: bigint, eventsMax: number): Promise<WatchRecord | undefined> {
  const answer = await client.getData(recordPathOf(sessionId));
  if ('code' in answer) return answer.code === 'NONODE' ? new WatchRecord(eventsMax) : undefined;
  // Only the session can make an ephemeral it owns: a node anyone else put there is not trusted.
  if (!sameSession(answer.stat.ephemeralOwner, sessionId)) return undefined;
  return WatchRecord.parse(Buffer.from(answer.data).toString('utf8'), eventsMax);
}

function sameSession(owner: bigint, sessionId: bigint): boolean {
  return BigInt.asIntN(64, owner) === BigInt.asIntN(64, sessionId);
}

export class RecordWriter {
  private tail: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(
    private readonly client: () => ZooKeeperClient | undefined,
    private readonly sessionId: () => bigint,
    readonly record: () => WatchRecord,
    private readonly acl: readonly ZkAclEntry[],
    private readonly failed: (error: ZkError) => void,
  ) {}

  save(): Promise<void> {
    if (this.queued) return this.queued;
    const queued = this.tail.then(async () => {
      this.queued = undefined;
      const error = await this.write();
      if (error) this.failed(error);
    });
    this.queued = queued;
    this.tail = queued;
    return queued;
  }

  private async write(): Promise<ZkError | undefined> {
    const client = this.client();
    if (!client) return undefined;
    const sessionId = this.sessionId();
    const path = recordPathOf(sessionId);
    const text = this.record().toJson();
    const data = text.length > RECORD_BYTES_MAX ? UNREADABLE : new TextEncoder().encode(text);
    const set = await client.setData(path, data, -1);
    if (!('code' in set)) {
      if (sameSession(set.stat.ephemeralOwner, sessionId)) return undefined;
      // Someone else's node at this session's path (the parents are world-creatable): replace it.
      const removed = await client.delete(path, set.stat.version);
      if ('code' in removed && removed.code !== 'NONODE') return removed;
    } else if (set.code !== 'NONODE') {
      return set;
    }
    let created = await client.create({ path, data, acl: this.acl, mode: 'ephemeral' });
    if ('code' in created && created.code === 'NONODE') {
      const made = await makeRecordParents(client);
      if (made) return made;
      created = await client.create({ path, data, acl: this.acl, mode: 'ephemeral' });
    }
    if (!('code' in created)) return undefined;
    if (created.code !== 'NODEEXISTS') return created;
    const again = await client.setData(path, data, -1);
    return 'code' in again ? again : undefined;
  }
}

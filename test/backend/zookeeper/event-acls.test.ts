/** EventAcls (src/backend/zookeeper/event-acls.ts): which ACL each event of a gateway's streams is judged by. */
import { describe, expect, it } from 'vitest';
import { zkError } from '../../../src/core/errors.ts';
import { EventAcls, UNKNOWN } from '../../../src/backend/zookeeper/event-acls.ts';
import type { ZooKeeperClient } from '../../../src/zookeeper-client/client.ts';
import { ZERO_STAT, type ZkAclEntry } from '../../../src/zookeeper-client/records.ts';

const ALICE: ZkAclEntry[] = [{ perms: 31, scheme: 'digest', id: 'alice:hash' }];

/** A client whose getACL answers from `acls` (NONODE for a path not in it, NOAUTH for 'closed'). */
function clientOf(acls: Map<string, ZkAclEntry[] | 'closed'>): () => ZooKeeperClient {
  const client = {
    getACL: async (path: string) => {
      const acl = acls.get(path);
      if (acl === undefined) return zkError('NONODE', 'no node', path);
      if (acl === 'closed') return zkError('NOAUTH', 'no auth', path);
      return { acl, stat: ZERO_STAT };
    },
  };
  return () => client as unknown as ZooKeeperClient;
}

describe('EventAcls', () => {
  it('gives a change the ACL its node has right after it, and a later deletion the same', async () => {
    const acls = new Map<string, ZkAclEntry[] | 'closed'>([['/a', ALICE]]);
    const lookups = new EventAcls(clientOf(acls), 10);
    expect(await lookups.lookup([{ type: 'NodeDataChanged', path: '/a' }])).toEqual([ALICE]);
    acls.delete('/a');
    expect(await lookups.lookup([{ type: 'NodeDeleted', path: '/a' }])).toEqual([ALICE]);
    expect(await lookups.lookup([{ type: 'NodeDeleted', path: '/a' }])).toEqual([UNKNOWN]);
  });

  it('knows the deletion of a node whose ACL it read when its watch was set (warm), and not of one it never read', async () => {
    const acls = new Map<string, ZkAclEntry[] | 'closed'>([['/watched', ALICE], ['/other', ALICE]]);
    const lookups = new EventAcls(clientOf(acls), 10);
    lookups.warm('/watched');
    acls.clear();
    expect(await lookups.lookup([{ type: 'NodeDeleted', path: '/watched' }, { type: 'NodeDeleted', path: '/other' }])).toEqual([ALICE, UNKNOWN]);
  });

  it('answers an ACL nobody matches for a node the gateway may not read, UNKNOWN for one gone before its read, none for watch removals', async () => {
    const acls = new Map<string, ZkAclEntry[] | 'closed'>([['/closed', 'closed']]);
    const lookups = new EventAcls(clientOf(acls), 10);
    const [closed, gone, removed] = await lookups.lookup([
      { type: 'NodeCreated', path: '/closed' }, { type: 'NodeCreated', path: '/gone' }, { type: 'DataWatchRemoved', path: '/closed' },
    ]);
    expect(closed).toEqual([{ perms: 0, scheme: 'world', id: 'anyone' }]);
    expect(gone).toBe(UNKNOWN);
    expect(removed).toBeUndefined();
  });

  it('remembers at most its bound of paths, dropping the least recently read', async () => {
    const acls = new Map<string, ZkAclEntry[] | 'closed'>([['/1', ALICE], ['/2', ALICE], ['/3', ALICE]]);
    const lookups = new EventAcls(clientOf(acls), 2);
    await lookups.lookup([{ type: 'NodeCreated', path: '/1' }, { type: 'NodeCreated', path: '/2' }, { type: 'NodeCreated', path: '/3' }]);
    expect(await lookups.lookup([{ type: 'NodeDeleted', path: '/1' }, { type: 'NodeDeleted', path: '/3' }])).toEqual([UNKNOWN, ALICE]);
  });
});

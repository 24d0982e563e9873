/**
 * A session's watched read or addWatch on its own ZooKeeper connection: the read (or addWatch)
 * sets the watch, then `recorded` keeps it in the session's watch record as of the read's zxid,
 * and only then is the answer given (watch-record.ts: the record is never behind the client).
 */
import type { ZkError } from '../../core/errors.ts';
import type { WatchResult } from '../../core/tree/results.ts';
import type { WatchRequest } from '../../core/tree/txn.ts';
import type { ZooKeeperClient } from '../../zookeeper-client/client.ts';
import type { WatchKind } from '../../zookeeper-client/watch-registry.ts';
import type { ZkAddWatchMode } from '../../zookeeper-client/records.ts';
import { sortedNames, statOf } from './convert.ts';

export type SettingRequest = WatchRequest & { op: Exclude<WatchRequest['op'], 'removeWatches'> };

/**
 * `server` says what the server is asked for (watch-modes.ts): a read whose path holds a
 * persistent or recursive watch sets none there, and an addWatch may go with another mode; the
 * record gets the kind the request asked for either way.
 */
export async function setWatch(
  client: ZooKeeperClient, request: SettingRequest, recorded: (kind: WatchKind, zxid: bigint) => Promise<void>,
  server: { readonly watch: boolean; readonly mode?: ZkAddWatchMode } = { watch: true },
): Promise<WatchResult | ZkError> {
  const answered = async (kind: WatchKind, zxid: bigint, answer: WatchResult): Promise<WatchResult> => {
    await recorded(kind, zxid);
    return answer;
  };
  switch (request.op) {
    case 'getData': {
      const r = await client.getData(request.path, server.watch);
      return 'code' in r ? r : answered('data', r.zxid, { ok: true, watch: true, stat: statOf(r.stat), data: r.data });
    }
    case 'exists': {
      const r = await client.exists(request.path, server.watch);
      if ('code' in r) return r;
      return r.stat === null ? answered('exist', r.zxid, { ok: true, watch: true }) : answered('data', r.zxid, { ok: true, watch: true, stat: statOf(r.stat) });
    }
    case 'getChildren': {
      const r = await client.getChildren(request.path, server.watch);
      return 'code' in r ? r : answered('child', r.zxid, { ok: true, watch: true, stat: statOf(r.stat), children: sortedNames(r.children) });
    }
    case 'addWatch': {
      const r = await client.addWatch(request.path, server.mode ?? request.mode);
      return 'code' in r ? r : answered(request.mode === 'persistent' ? 'persistent' : 'persistentRecursive', r.zxid, { ok: true, watch: true });
    }
  }
}

/**
 * A read-only multi through a gateway: the HTTP layer asks readNow for every op of the multi
 * before awaiting any, and this batches the calls of one turn into one multiRead, which the
 * server answers from one state of its tree (no commit is applied while a request's reads run),
 * so the multi reads one point of the ensemble's history as the embedded store's does.
 */
import type { ZkError } from '../../core/errors.ts';
import type { ZooKeeperClient } from '../../zookeeper-client/client.ts';
import type { MultiResult, ReadOp } from '../../zookeeper-client/records.ts';
import { errorOf } from '../../zookeeper-client/zk-errors.ts';
import type { NodeNow } from '../backend.ts';
import { sortedNames, statOf, zxidNumber } from './convert.ts';

interface Asked {
  readonly path: string;
  readonly children: boolean;
  readonly resolve: (node: NodeNow | ZkError | undefined) => void;
}

/** ZooKeeper's multiRead answers every op (a failing one as its error); a multi holds at most 1000 ops (routes/multi.ts), 2 reads each. */
export class ReadBatcher {
  private queued: Asked[] = [];

  constructor(private readonly client: () => ZooKeeperClient, private readonly sawZxid: (zxid: number) => void) {}

  read(path: string, children: boolean): Promise<NodeNow | ZkError | undefined> {
    return new Promise((resolve) => {
      if (this.queued.length === 0) queueMicrotask(() => void this.flush());
      this.queued.push({ path, children, resolve });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    // getData for the Stat (and data), getChildren after it when the names are asked.
    const ops: ReadOp[] = batch.flatMap(({ path, children }) => (children ? [{ type: 'getData' as const, path }, { type: 'getChildren' as const, path }] : [{ type: 'getData' as const, path }]));
    const answer = await this.client().multiRead(ops);
    if ('code' in answer) {
      for (const asked of batch) asked.resolve(answer);
      return;
    }
    this.sawZxid(zxidNumber(answer.zxid));
    let i = 0;
    for (const asked of batch) {
      const data = answer.results[i++];
      const names = asked.children ? answer.results[i++] : undefined;
      asked.resolve(nodeOf(asked.path, data, names));
    }
  }
}

function nodeOf(path: string, data: MultiResult | undefined, names: MultiResult | undefined): NodeNow | ZkError | undefined {
  if (data === undefined) return errorOf(-1, path);
  if (data.type === 'error') return data.err === -101 ? undefined : errorOf(data.err, path);
  if (data.type !== 'getData') return errorOf(-1, path);
  // Deleted between the two reads cannot happen (one state); an error here is the node's (NOAUTH).
  if (names !== undefined && names.type === 'error') return names.err === -101 ? undefined : errorOf(names.err, path);
  const children = names !== undefined && names.type === 'getChildren' ? sortedNames(names.children) : [];
  return { stat: statOf(data.stat), data: data.data, children: () => children };
}

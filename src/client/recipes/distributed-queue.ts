/**
 * A FIFO queue (Curator's SimpleDistributedQueue): put() creates a persistent-sequential child
 * `<queue>/qn-<seq>` holding the item; take() reads the children in order and deletes the
 * lowest it can, and whoever's delete succeeds owns that item — a NONODE means another consumer
 * took it first, so it tries the next one (no re-listing, no herd of consumers on one item).
 * Only a consumer that finds the queue empty sets a child watch and waits.
 *
 * Exactly once: a put or a take's delete whose answer is lost (the client's failover gave up,
 * say through a leader election) is sent again with the same request id, which the server
 * answers with the first attempt's result (znode-ops.ts writeOnce): an item is neither enqueued
 * twice nor deleted without its taker knowing. Items are persistent: they survive the
 * producer's and consumer's sessions.
 */
import { CorralError, znodeUrl } from '../corral-client.ts';
import { errorFromResponse } from '../errors.ts';
import type { CorralSession } from '../session.ts';
import type { BarrierWaitOptions } from './barrier.ts';
import { deadline, sessionEnded } from './sequential.ts';
import { jsonOf, watchedRead } from './session-watch.ts';
import { checkRecipePath, expectStatus, childPath, ensureNode, readChildren, readNode, requesterOf, writeOnce, type Requester } from './znode-ops.ts';

const PREFIX = 'qn-';
/** Rounds of listing and waiting in one take, at most (each round takes or waits for a change). */
const TAKE_ROUNDS_MAX = 1_000_000;

/** A take's wait: the same options as a barrier's. */
export type TakeOptions = BarrierWaitOptions;

export class DistributedQueue {
  private readonly request: Requester;

  constructor(readonly session: CorralSession, readonly path: string) {
    checkRecipePath('queue', path);
    this.request = requesterOf(session);
  }

  /** Adds an item at the tail; answers its node's path. */
  async put(item: string | Uint8Array): Promise<string> {
    const body = typeof item === 'string' ? new TextEncoder().encode(item) : new Uint8Array(item);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const url = `${znodeUrl('/v1/znodes', childPath(this.path, PREFIX))}?mode=persistent_sequential`;
      const response = await writeOnce(this.request, url, { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' } });
      if (response.status === 201) return ((await response.json()) as { path: string }).path;
      if (response.status !== 404 || attempt === 2) throw await errorFromResponse(response);
      await response.body?.cancel();
      await ensureNode(this.request, this.path); // first use: make the queue's node
    }
    throw new CorralError(0, 'SYSTEMERROR', -1, 'unreachable');
  }

  /** Removes and answers the head item, or undefined when the queue is empty now. */
  async poll(): Promise<Uint8Array | undefined> {
    return this.takeFrom((await readChildren(this.request, this.path)) ?? []);
  }

  /** The head item without removing it, or undefined when empty. */
  async peek(): Promise<Uint8Array | undefined> {
    for (const name of items((await readChildren(this.request, this.path)) ?? [])) {
      const node = await readNode(this.request, childPath(this.path, name));
      if (node) return node.data;
    }
    return undefined;
  }

  /** Removes and answers the head item, waiting for one while the queue is empty. */
  async take(options: TakeOptions = {}): Promise<Uint8Array> {
    const wait = deadline(options.timeoutMs, options.signal, `an item in ${this.path}`);
    try {
      for (let round = 0; round < TAKE_ROUNDS_MAX; round++) {
        if (wait.signal.aborted) throw wait.signal.reason;
        if (this.session.ended) throw sessionEnded(this.session);
        // The child watch is set by the same listing that finds the queue empty: no put is missed.
        const read = await watchedRead(this.session, `${znodeUrl('/v1/children', this.path)}?watch=true`, this.path, { signal: wait.signal });
        const listed = await jsonOf<{ children: string[] }>(read, [200, 404]);
        if (listed === undefined) {
          // No queue node yet (a 404 sets no child watch): make it, then list again.
          read.cancel();
          await ensureNode(this.request, this.path);
          continue;
        }
        const item = await this.takeFrom(listed.children);
        if (item !== undefined) {
          read.cancel();
          return item;
        }
        await read.fired;
      }
      throw new CorralError(0, 'SYSTEMERROR', -1, `take on ${this.path} ran out of rounds`);
    } finally {
      wait.dispose();
    }
  }

  /** Tries the items in order; a NONODE on read or delete means another consumer took it. */
  private async takeFrom(children: readonly string[]): Promise<Uint8Array | undefined> {
    for (const name of items(children)) {
      const path = childPath(this.path, name);
      const node = await readNode(this.request, path);
      if (!node) continue;
      const response = await writeOnce(this.request, znodeUrl('/v1/znodes', path), { method: 'DELETE' });
      if ((await expectStatus(response, [204, 404])) === 204) return node.data;
    }
    return undefined;
  }
}

/** The queue's items in FIFO order (by the 10-digit sequence the server appends). */
function items(children: readonly string[]): string[] {
  return children.filter((name) => name.startsWith(PREFIX)).sort();
}

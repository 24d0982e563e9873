/**
 * A barrier (Curator's DistributedBarrier): while its node exists, waitOnBarrier() blocks;
 * removeBarrier() deletes the node and releases every waiter. The node is persistent, so a
 * barrier outlives the session that set it: if the process that should remove it dies, it stays
 * set until someone removes it (use a DoubleBarrier, whose members are ephemeral, when that
 * matters). Waiters use a getData watch, which is set only while the node exists, so a wait
 * leaves no watch behind on a barrier that is already gone.
 */
import { znodeUrl } from '../corral-client.ts';
import { errorFromResponse } from '../errors.ts';
import type { CorralSession } from '../session.ts';
import { deadline, sessionEnded } from './sequential.ts';
import { waitUntilGone } from './session-watch.ts';
import { checkRecipePath, expectStatus, ensureNode, requesterOf, writeOnce, type Requester } from './znode-ops.ts';

export interface BarrierWaitOptions {
  /** Give up (OPERATIONTIMEOUT) after this long; by default wait until the session ends. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export class Barrier {
  private readonly request: Requester;

  constructor(readonly session: CorralSession, readonly path: string) {
    checkRecipePath('barrier', path);
    this.request = requesterOf(session);
  }

  /** Sets the barrier (creates its node; already set is fine). */
  async setBarrier(): Promise<void> {
    await ensureNode(this.request, this.path);
  }

  /** Removes the barrier, releasing every waiter; one not set is fine. */
  async removeBarrier(): Promise<void> {
    const response = await writeOnce(this.request, znodeUrl('/v1/znodes', this.path), { method: 'DELETE' });
    await expectStatus(response, [204, 404]);
  }

  /** Resolves once the barrier is not set (at once when it is not). */
  async waitOnBarrier(options: BarrierWaitOptions = {}): Promise<void> {
    if (this.session.ended) throw sessionEnded(this.session);
    const wait = deadline(options.timeoutMs, options.signal, `removal of the barrier ${this.path}`);
    try {
      await waitUntilGone(this.session, this.path, wait.signal);
    } finally {
      wait.dispose();
    }
  }
}

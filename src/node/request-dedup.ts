/**
 * Writes applied once: a request that carries an id (Zk-Request-Id) and is retried — after a
 * timeout, or through another node once its node died — gets the answer of its first attempt
 * instead of being applied twice. Every node learns ids from the transactions it applies, so a
 * new leader knows what the old one committed; a retry of a write still in flight waits for it.
 *
 * The window is bounded (the most recent ids) and in memory: ids applied before a node's last
 * restart from a checkpoint are not remembered there. Ids are the client's to keep unique.
 */
import type { Committed, NodeHost } from './node-host.ts';

const REMEMBERED_MAX = 100_000;

export class RequestDedup {
  private readonly applied = new Map<string, Committed>();
  private readonly inFlight = new Map<string, Promise<Committed>>();

  constructor(host: NodeHost) {
    host.onApplied((output, zxid, envelope) => {
      const { txn } = envelope;
      if (txn.type !== 'write' || txn.request === undefined) return;
      const key = `${txn.request.client}\u0000${txn.request.id}`;
      if (this.applied.has(key)) return;
      this.applied.set(key, { zxid, result: output.result });
      if (this.applied.size > REMEMBERED_MAX) this.applied.delete(this.applied.keys().next().value!);
    });
  }

  /** The first answer for `requestId`, or the answer of `submit` when this is its first attempt. */
  once(requestId: string, submit: () => Promise<Committed>): Promise<Committed> {
    const done = this.applied.get(requestId);
    if (done) return Promise.resolve(done);
    const running = this.inFlight.get(requestId);
    if (running) return running;
    const attempt = submit().finally(() => this.inFlight.delete(requestId));
    this.inFlight.set(requestId, attempt);
    return attempt;
  }
}

/**
 * Writes applied once: a request that carries an id (Zk-Request-Id) and is retried — after a
 * timeout, or through another node once its node died — gets the answer of its first attempt
 * instead of being applied twice. Every node learns ids from the transactions it applies, so a
 * new leader knows what the old one committed; a retry of a write still in flight waits for it.
 *
 * The window is bounded (the most recent ids) and in memory: ids applied before a node's last
 * restart from a checkpoint are not remembered there. Ids are the client's to keep unique.
 */
import type { ApplyOutput } from '../core/tree/results.ts';
import type { TxnEnvelope } from '../core/tree/txn.ts';
import type { Applier } from './applier.ts';
import type { Committed } from './node-host.ts';

const REMEMBERED_MAX = 100_000;

export class RequestDedup implements Applier {
  private readonly answers = new Map<string, Committed>();
  private readonly inFlight = new Map<string, Promise<Committed>>();

  /** Learns the id of every applied write that carries one (an Applier of the host). */
  applied(output: ApplyOutput, zxid: number, { txn }: TxnEnvelope): void {
    if (txn.type !== 'write' || txn.request === undefined) return;
    const key = `${txn.request.client}\u0000${txn.request.id}`;
    if (this.answers.has(key)) return;
    this.answers.set(key, { zxid, result: output.result });
    if (this.answers.size > REMEMBERED_MAX) this.answers.delete(this.answers.keys().next().value!);
  }

  /** The first answer for `requestId`, or the answer of `submit` when this is its first attempt. */
  once(requestId: string, submit: () => Promise<Committed>): Promise<Committed> {
    const done = this.answers.get(requestId);
    if (done) return Promise.resolve(done);
    const running = this.inFlight.get(requestId);
    if (running) return running;
    const attempt = submit().finally(() => this.inFlight.delete(requestId));
    this.inFlight.set(requestId, attempt);
    return attempt;
  }
}

/**
 * Linearizable reads waiting for the leader to confirm a read index (ReadIndex), by context.
 * Contexts are unique across this member's restarts: a leader's late answer to a read asked
 * before a restart must not release a read asked after it (its index would be stale).
 */
import { randomBytes } from 'node:crypto';

interface Pending {
  resolve(index: number): void;
  reject(error: Error): void;
  readonly timer: NodeJS.Timeout;
}

export class PendingReads {
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private readonly nonce = randomBytes(6).toString('hex');

  /** A fresh context for member `id`'s next read. */
  nextContext(id: number): string {
    return `${id}.${this.nonce}.${++this.seq}`;
  }

  /** Resolves with the read index confirmed for `context`, or rejects with `timedOut()` after `timeoutMs`. */
  wait(context: string, timeoutMs: number, timedOut: () => Error): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(context);
        reject(timedOut());
      }, timeoutMs);
      timer.unref?.();
      this.pending.set(context, { resolve, reject, timer });
    });
  }

  /** Gives up on `context` (the read could not be asked for). */
  cancel(context: string, error: Error): void {
    const read = this.pending.get(context);
    if (!read) return;
    this.pending.delete(context);
    clearTimeout(read.timer);
    read.reject(error);
  }

  /** The read indexes a Ready confirmed; contexts no longer waited for (timed out, or another incarnation's) are ignored. */
  confirm(states: ReadonlyArray<{ readonly context: string; readonly index: number }>): void {
    for (const { context, index } of states) {
      const read = this.pending.get(context);
      if (!read) continue;
      this.pending.delete(context);
      clearTimeout(read.timer);
      read.resolve(index);
    }
  }
}

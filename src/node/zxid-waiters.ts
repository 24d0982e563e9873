/** Requests waiting until a zxid is applied (Zk-Min-Zxid, sync), each with a bounded wait. */

interface Pending {
  readonly zxid: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class ZxidTimeoutError extends Error {}

export class ZxidWaiters {
  private pending: Pending[] = [];

  wait(zxid: number, appliedZxid: number, timeoutMs: number): Promise<void> {
    if (zxid <= appliedZxid) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = this.pending.filter((p) => p.timer !== timer);
        reject(new ZxidTimeoutError(`zxid ${zxid} not applied within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.push({ zxid, resolve, reject, timer });
    });
  }

  release(appliedZxid: number): void {
    if (this.pending.length === 0) return;
    const keep: Pending[] = [];
    for (const p of this.pending) {
      if (p.zxid <= appliedZxid) {
        clearTimeout(p.timer);
        p.resolve();
      } else keep.push(p);
    }
    this.pending = keep;
  }

  rejectAll(): void {
    for (const p of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ZxidTimeoutError('node is shutting down'));
    }
    this.pending = [];
  }
}

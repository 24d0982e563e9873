/** A pause that ends early when something changed: the worker loop's one waiting point. */
export class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  /** Ends the current (or the next) wait now. */
  notify(): void {
    this.pending = true;
    this.resolve?.();
  }

  /** Resolves after `ms`, or as soon as notify() is called (at once if it was called since the last wait). */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.pending = false;
        self.resolve = undefined;
        resolve();
      }
      this.resolve = done;
    });
  }
}

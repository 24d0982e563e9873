/**
 * When a node's timed duties run (session expiry rounds, forgetting ended sessions). They take a
 * Timers rather than calling setInterval and setTimeout themselves, so that a simulation can run
 * them from its own clock, deterministically; production uses realTimers.
 */
export interface Timers {
  /** Runs `run` every `ms` until the returned function is called. */
  every(ms: number, run: () => void): () => void;
  /** Runs `run` once, `ms` from now, unless the returned function is called first. */
  after(ms: number, run: () => void): () => void;
}

/** Node's timers, unref'd: a timed duty never keeps the process alive on its own. */
export const realTimers: Timers = {
  every(ms, run) {
    const timer = setInterval(run, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  after(ms, run) {
    const timer = setTimeout(run, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/**
 * A fetch that follows the cluster: requests go to one node until it fails (a connection error
 * or a 503: no leader, no quorum, shutting down), then to the next, round after round with a
 * short growing pause, up to a bound. Safe for writes because the client gives every write a
 * Zk-Request-Id (corral-client.ts): a retried write that had been applied is answered, not
 * applied again. The caller's own abort signal stops the retries.
 */

export interface FailoverOptions {
  /** Node base URLs (origin and optional path prefix), in the order to try them. */
  readonly urls: readonly string[];
  readonly fetch: typeof fetch;
  /** Rounds over every node before giving up (default 3). */
  readonly rounds?: number;
  /** Pause after a round that found no node, times the round number (default 100 ms). */
  readonly pauseMs?: number;
}

export class Failover {
  /** Index of the node requests go to now. */
  private current = 0;

  constructor(private readonly options: FailoverOptions) {
    if (options.urls.length === 0) throw new Error('a client needs at least one node URL');
  }

  get url(): string {
    return this.options.urls[this.current]!;
  }

  /** Sends `url` (built on the first node's base URL) to the current node, moving on when it fails. */
  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const first = this.options.urls[0]!;
    const href = request.url;
    const relative = href.startsWith(first) ? href.slice(first.length) : new URL(href).pathname + new URL(href).search;
    const body = request.body === null ? undefined : await request.arrayBuffer();
    const { urls, rounds = 3, pauseMs = 100 } = this.options;
    let lastError: unknown;
    for (let attempt = 0; attempt < urls.length * rounds; attempt++) {
      if (attempt > 0 && attempt % urls.length === 0) await pause(pauseMs * (attempt / urls.length), request.signal);
      const at = this.current;
      try {
        const response = await this.options.fetch(urls[at] + relative, {
          method: request.method, headers: request.headers, body, signal: request.signal, redirect: request.redirect,
        });
        const last = attempt === urls.length * rounds - 1;
        if (response.status !== 503 || last) return response;
        await response.body?.cancel();
        lastError = new Error(`${urls[at]} answered 503`);
      } catch (error) {
        if (request.signal.aborted) throw error;
        lastError = error;
      }
      // Another request may have moved on already: only move past the node that failed.
      if (this.current === at) this.current = (at + 1) % urls.length;
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/**
 * A fetch that follows the cluster: requests go to one node until it fails (a connection error
 * or a 503: no leader, no quorum, shutting down), then to the next, round after round with a
 * growing pause, for at least `retryForMs` — long enough to outlast a leader election (10–20
 * ticks of silence, 1–2 s at the default tick, plus the vote). Safe for writes because the
 * client gives every write a Zk-Request-Id (corral-client.ts): a retried write that had been
 * applied is answered, not applied again. The caller's own abort signal stops the retries.
 *
 * That signal (init's, or an input Request's) is the one passed down, held strongly for the life
 * of the call and of the response body: a Request made here would derive its own signal, which
 * undici links to the caller's only weakly, so once it was collected an idle event stream could
 * no longer be aborted.
 *
 * When time runs out: if a node's last answer was a 503, that answer is returned (its body says
 * why: code and message, which `unwrap` turns into a CorralError); if no node answered at all,
 * a CorralError CONNECTIONLOSS is thrown naming each node's last failure.
 */
import { CONNECTIONLOSS, CorralError } from './errors.ts';

export interface FailoverOptions {
  /** Node base URLs (origin and optional path prefix), in the order to try them. */
  readonly urls: readonly string[];
  readonly fetch: typeof fetch;
  /** Keep trying for this long before giving up (default 5000 ms: over twice the longest election timeout). */
  readonly retryForMs?: number;
  /** Rounds over every node to try at least, however short `retryForMs` is (default 1). */
  readonly rounds?: number;
  /** Pause after a round that found no node, times the round number, at most 1 s (default 100 ms). */
  readonly pauseMs?: number;
}

export const RETRY_FOR_MS_DEFAULT = 5000;
const PAUSE_MS_MAX = 1000;
/** A 503 body is a small JSON error; more than this is not kept. */
const ERROR_BODY_MAX = 64 * 1024;

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
    // Not request.signal: see the header. An input Request is kept alive with the body (holding).
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const first = this.options.urls[0]!;
    const href = request.url;
    const relative = href.startsWith(first) ? href.slice(first.length) : new URL(href).pathname + new URL(href).search;
    const body = request.body === null ? undefined : await request.arrayBuffer();
    const { urls, rounds = 1, pauseMs = 100, retryForMs = RETRY_FOR_MS_DEFAULT } = this.options;
    const deadline = Date.now() + retryForMs;
    const failures = new Map<string, string>();
    let last503: Response | undefined;
    for (let attempt = 0; attempt < urls.length * rounds || Date.now() < deadline; attempt++) {
      const round = Math.floor(attempt / urls.length);
      if (attempt > 0 && attempt % urls.length === 0) await pause(Math.min(pauseMs * round, PAUSE_MS_MAX, Math.max(0, deadline - Date.now())), signal);
      signal?.throwIfAborted();
      const at = this.current;
      try {
        const response = await this.options.fetch(urls[at] + relative, {
          method: request.method, headers: request.headers, body, signal, redirect: request.redirect,
        });
        if (response.status !== 503) return input instanceof Request ? holding(response, input) : response;
        last503 = await keep(response);
        failures.set(urls[at]!, `503 ${await describe503(last503.clone())}`);
      } catch (error) {
        if (signal?.aborted) throw error;
        failures.set(urls[at]!, describeError(error));
      }
      // Another request may have moved on already: only move past the node that failed.
      if (this.current === at) this.current = (at + 1) % urls.length;
    }
    if (last503) return last503;
    const why = [...failures].map(([url, failure]) => `${url}: ${failure}`).join('; ');
    throw new CorralError(0, CONNECTIONLOSS.code, CONNECTIONLOSS.zkCode, `no node answered in ${retryForMs} ms (${why})`);
  };
}

/** A copy of a 503 whose (small) body is read now, so the connection is freed and it can be returned later. */
async function keep(response: Response): Promise<Response> {
  const bytes = new Uint8Array(await response.arrayBuffer()).slice(0, ERROR_BODY_MAX);
  return new Response(bytes, { status: response.status, statusText: response.statusText, headers: response.headers });
}

async function describe503(response: Response): Promise<string> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { code?: string; message?: string };
    return `${body.code ?? ''} ${body.message ?? ''}`.trim();
  } catch {
    return text.slice(0, 200);
  }
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, …): show both. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause ? `${error.message} (${cause.code ?? cause.message ?? String(cause)})` : error.message;
}

/** The property of a sized answer that keeps the caller's Request reachable (see holding). */
const OWNER = Symbol('corral.failover.owner');

/**
 * `response` holding `owner` (the caller's Request, whose signal is the one passed down) for as
 * long as the body is being read, so that signal keeps following the caller's. A body meant to be
 * read over time (an event stream, or any answer without a Content-Length: a backup) is piped
 * through a stream that holds it; a sized answer (every JSON answer) is read at once by a caller
 * that holds the Response, so a property on it is enough — the pipe costs ~60–90 µs of CPU per
 * call (bench/micro/failover-passthrough.ts, BENCHMARKS.md), a property nothing measurable.
 */
function holding(response: Response, owner: Request): Response {
  if (response.body === null) return response;
  const type = response.headers.get('content-type') ?? '';
  if (response.headers.has('content-length') && !type.startsWith('text/event-stream')) {
    Object.defineProperty(response, OWNER, { value: owner });
    return response;
  }
  const body = response.body.pipeThrough(new TransformStream(new Holder(owner)));
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** A pass-through transformer whose only other job is to keep `owner` reachable. */
class Holder implements Transformer<Uint8Array, Uint8Array> {
  constructor(readonly owner: object) {}

  transform(chunk: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>): void {
    controller.enqueue(chunk);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (the timer and listener are removed either way). */
export function pause(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

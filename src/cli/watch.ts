/**
 * `corral-cli watch <path>`: the session-less watch stream (GET /v1/watch), printed as events
 * arrive. When the stream drops (node killed, network) it reconnects — to the next `--server`
 * when that one is down — with `Last-Event-ID`, so no event is lost or printed twice; it gives
 * up after `--retry-for` ms without a working connection. SSE is parsed by eventsource-parser.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { CorralError, znodeUrl } from '../client/corral-client.ts';
import { checkPath } from './args.ts';
import { failure, type Context } from './commands.ts';

export interface WatchOptions {
  readonly recursive?: boolean;
  /** Exit after this many watch events. */
  readonly count?: number;
  /** Start after this zxid (the events since are replayed) instead of "from now". */
  readonly fromZxid?: string;
  /** Give up after this long without a working stream, in ms. */
  readonly retryFor: number;
}

interface WatchEvent { type: string; path: string; zxid: string }

const RECONNECT_PAUSE_MS = 500;

export async function watch(ctx: Context, path: string, opts: WatchOptions): Promise<void> {
  checkPath(path);
  if (opts.fromZxid !== undefined && !/^\d+$/.test(opts.fromZxid)) throw new CorralError(400, 'BADARGUMENTS', -8, '--from-zxid must be a decimal zxid');
  let lastId: string | undefined;
  let seen = 0;
  let pauseMs = RECONNECT_PAUSE_MS;
  let downSince: number | undefined;
  for (;;) {
    const abort = new AbortController();
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (lastId !== undefined) headers['Last-Event-ID'] = lastId;
    const params = new URLSearchParams();
    if (opts.recursive) params.set('recursive', 'true');
    if (lastId === undefined && opts.fromZxid !== undefined) params.set('fromZxid', opts.fromZxid);
    const url = `${znodeUrl('/v1/watch', path)}${params.size > 0 ? `?${params}` : ''}`;
    let reason: string;
    try {
      const response = await ctx.client.raw(url, { headers, signal: abort.signal });
      if (!response.ok) {
        const error = await failure(response);
        // Only a node that cannot serve now is worth retrying; any other refusal is final.
        if (response.status !== 503 && response.status !== 429) throw error;
        reason = error.message;
      } else {
        downSince = undefined;
        pauseMs = RECONNECT_PAUSE_MS;
        if (process.stderr.isTTY) ctx.out.note(`watching ${path}${opts.recursive ? ' and below' : ''} on ${ctx.client.baseUrl}`);
        const finished = await readStream(response, abort, (message) => {
          if (message.event === 'watch') {
            const event = JSON.parse(message.data) as WatchEvent;
            if (message.id) lastId = message.id;
            if (ctx.out.json) ctx.out.data({ event: 'watch', id: message.id, ...event });
            else ctx.out.line(`${event.type} ${event.path} zxid=${event.zxid}`);
            seen++;
            return opts.count !== undefined && seen >= opts.count;
          }
          if (message.event === 'reset') {
            // History was compacted: what happened up to that zxid is unknown; say so, go on.
            if (ctx.out.json) ctx.out.data({ event: 'reset', ...(JSON.parse(message.data) as object) });
            else ctx.out.note(`reset: events were lost (${message.data}); read the state again`);
          }
          if (message.event === 'overflow') ctx.out.note('the node dropped this slow stream; resuming');
          return false;
        }, (ms) => (pauseMs = ms));
        if (finished) return;
        reason = 'stream ended';
      }
    } catch (error) {
      // A refusal is final; a node that cannot serve (or none reachable) is worth retrying.
      if (error instanceof CorralError && error.status !== 503 && error.code !== 'CONNECTIONLOSS') throw error;
      reason = error instanceof Error ? error.message : String(error);
    } finally {
      abort.abort();
    }
    downSince ??= Date.now();
    if (Date.now() - downSince >= opts.retryFor) {
      throw new CorralError(503, 'CONNECTIONLOSS', -4, `no watch stream for ${opts.retryFor} ms (${reason})`);
    }
    if (process.stderr.isTTY) ctx.out.note(`${reason}; reconnecting${lastId ? ` after ${lastId}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

/**
 * Feeds the stream to the parser until it ends or `onEvent` says to stop (true is returned
 * then). The server's `retry:` field sets the reconnect pause.
 */
async function readStream(
  response: Response, abort: AbortController,
  onEvent: (message: EventSourceMessage) => boolean, onRetry: (ms: number) => void,
): Promise<boolean> {
  if (!response.body) return false;
  let stop = false;
  const parser = createParser({
    onEvent: (message) => {
      if (!stop && onEvent(message)) stop = true;
    },
    onRetry,
  });
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  try {
    while (!stop) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  } catch (error) {
    if (!stop) throw error;
  } finally {
    abort.abort();
    reader.releaseLock();
  }
  return stop;
}

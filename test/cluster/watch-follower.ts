/**
 * A client of the session-less watch stream (GET /v1/watch/{path}?recursive=true) that survives
 * its node: when the stream ends (the node was killed, a reset), it reconnects, to ANY member that
 * accepts, with Last-Event-ID (or `?fromZxid=` before its first event), as an EventSource would.
 * It keeps every event it was given, across connections, for the checks: ids strictly
 * increasing, none twice, and the same (zxid, type, path) sequence as a fresh replay.
 *
 * Bounded: a reconnection waits RECONNECT_MS, connections are counted, close() aborts everything.
 */
import { SseParser } from '../http/sse-reader.ts';

const RECONNECT_MS = 100;
const CONNECTIONS_MAX = 10_000;
const CHUNKS_MAX = 1_000_000;

export interface WatchEvent {
  readonly id: string;
  readonly zxid: bigint;
  readonly k: number;
  readonly type: string;
  readonly path: string;
  /** Member whose stream delivered it. */
  readonly node: number;
}

export interface StreamNotice {
  readonly event: string;
  readonly data: string;
  readonly node: number;
}

export function parseId(id: string): { zxid: bigint; k: number } {
  const m = /^(\d+)-(\d+)$/.exec(id);
  if (!m) throw new Error(`malformed event id ${JSON.stringify(id)}`);
  return { zxid: BigInt(m[1]!), k: Number(m[2]) };
}

/** Reads one stream until it ends; each parsed item goes to `onItem`. Resolves when it ends, never rejects. */
async function pump(res: Response, onItem: (item: ReturnType<SseParser['feed']>[number]) => void): Promise<void> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = res.body!.getReader();
  try {
    for (let chunk = 0; chunk < CHUNKS_MAX; chunk++) {
      const { done, value } = await reader.read();
      if (done) return;
      for (const item of parser.feed(decoder.decode(value, { stream: true }))) onItem(item);
    }
  } catch {
    // the node went away, or we aborted
  }
}

export class WatchFollower {
  readonly events: WatchEvent[] = [];
  /** `reset`, `overflow` and any other non-watch events, in order. */
  readonly notices: StreamNotice[] = [];
  /** Events that broke the format (an id that is not `<zxid>-<k>` of its zxid). */
  readonly errors: string[] = [];
  /** The member of each connection that was accepted, in order. */
  readonly connections: number[] = [];
  private readonly controller = new AbortController();
  private closed = false;
  private readonly loop: Promise<void>;

  /**
   * Follows `path` recursively from after `fromZxid`, first through member `first` (1-based),
   * `urls` being every member's client URL. With `resumeId` the first request already sends it
   * as Last-Event-ID (a client that got its events elsewhere), which must be of `fromZxid`.
   */
  constructor(
    private readonly urls: readonly string[], readonly path: string, readonly fromZxid: bigint, readonly first: number,
    private readonly resumeId?: string,
  ) {
    if (resumeId !== undefined && parseId(resumeId).zxid !== fromZxid) throw new Error(`resume id ${resumeId} is not of zxid ${fromZxid}`);
    this.loop = this.run(first);
  }

  get lastId(): string | undefined {
    return this.events.at(-1)?.id ?? this.resumeId;
  }

  /** Waits (bounded) until an event at `zxid` or later arrived. */
  async until(zxid: bigint, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!((this.events.at(-1)?.zxid ?? 0n) >= zxid)) {
      if (performance.now() > deadline) {
        throw new Error(`watch stream (connections ${this.connections.join(',')}) did not reach zxid ${zxid} within ${timeoutMs} ms; last ${this.lastId}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.controller.abort();
    await this.loop;
  }

  private async run(first: number): Promise<void> {
    let node = first;
    for (let attempt = 0; attempt < CONNECTIONS_MAX && !this.closed; attempt++) {
      const res = await this.open(node);
      if (res) {
        this.connections.push(node);
        await pump(res, (item) => this.receive(item, node));
      }
      if (this.closed) return;
      await new Promise((r) => setTimeout(r, RECONNECT_MS));
      node = (node % this.urls.length) + 1; // any other member: the next one that accepts
    }
  }

  private async open(node: number): Promise<Response | undefined> {
    const last = this.lastId;
    const query = last === undefined ? `&fromZxid=${this.fromZxid}` : '';
    const headers: Record<string, string> = { accept: 'text/event-stream', ...(last === undefined ? {} : { 'last-event-id': last }) };
    try {
      const res = await fetch(`${this.urls[node - 1]}/v1/watch${this.path}?recursive=true${query}`, { headers, signal: this.controller.signal });
      if (res.status === 200 && res.body) return res;
      await res.text().catch(() => undefined);
    } catch {
      // refused, reset or aborted: try the next member
    }
    return undefined;
  }

  private receive(item: ReturnType<SseParser['feed']>[number], node: number): void {
    if (item.kind !== 'event') return;
    const { event } = item;
    if (event.event !== 'watch') {
      this.notices.push({ event: event.event, data: event.data, node });
      return;
    }
    try {
      const data = JSON.parse(event.data) as { type: string; path: string; zxid: string };
      const { zxid, k } = parseId(event.id ?? '');
      if (String(zxid) !== data.zxid) throw new Error(`event id ${event.id} but zxid ${data.zxid}`);
      this.events.push({ id: event.id!, zxid, k, type: data.type, path: data.path, node });
    } catch (error) {
      this.errors.push(`node ${node}: ${(error as Error).message} in ${JSON.stringify(event)}`);
    }
  }
}

/**
 * A fresh replay of `path`'s history from member `url`: every event after `fromZxid` through
 * `throughZxid` (which must be applied there), read from a new stream.
 */
export async function replayHistory(url: string, node: number, path: string, fromZxid: bigint, throughZxid: bigint, timeoutMs: number): Promise<WatchFollower> {
  const follower = new WatchFollower([url], path, fromZxid, 1);
  try {
    await follower.until(throughZxid, timeoutMs);
  } catch (error) {
    throw new Error(`replay from node ${node}: ${(error as Error).message}`);
  } finally {
    await follower.close();
  }
  return follower;
}

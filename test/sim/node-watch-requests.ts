/**
 * The watch requests of the node simulation's clients (node-workload.ts sends them through the
 * SessionManager under one of the client's sessions): watched reads (getData, exists,
 * getChildren) that set one-shot watches, addWatch persistent and persistent-recursive, and
 * removeWatches of one of the session's earlier watches, or now and then of one it never set
 * (NOWATCHER). Mostly on the paths the linearizability check follows, so a watched read's answer
 * joins its history; some on the containers and the root, whose children change all the time
 * (and one recursive watch on the root fills a session's outbox past its bound: overflow).
 * Draws from its own stream, so the rest of the workload keeps its draws.
 */
import type { WatchRequest } from '../../src/core/tree/txn.ts';
import type { RemoveType } from '../../src/core/watch/watch-registry.ts';
import type { Prng } from '../support/prng.ts';
import { EPHEMERAL_PATHS, SHARED_PATHS } from './node-requests.ts';

const DATA_PATHS = [...SHARED_PATHS, ...EPHEMERAL_PATHS] as const;
const PARENT_PATHS = ['/c0', '/c1', '/'] as const;
/** Paths remembered per session for a later removeWatches. */
const WATCHED_KEPT = 8;
const REMOVE_TYPES: readonly RemoveType[] = ['data', 'children', 'any'];

export class WatchMaker {
  /** Session → paths it asked to watch (whether or not the watch was set). */
  private readonly watched = new Map<number, string[]>();

  constructor(private readonly rng: Prng, private readonly rate: number) {}

  /** Whether a client's next request is a watch request (it needs an open session). */
  wants(sessions: readonly number[]): boolean {
    return sessions.length > 0 && this.rng.chance(this.rate);
  }

  next(sessions: readonly number[]): { readonly session: number; readonly request: WatchRequest } {
    const session = this.rng.pick(sessions);
    const request = this.request(session);
    if (request.op !== 'removeWatches') this.remember(session, request.path);
    return { session, request };
  }

  private request(session: number): WatchRequest {
    const r = this.rng.next();
    const kept = this.watched.get(session) ?? [];
    if (r < 0.3) return { op: 'getData', path: this.rng.pick(DATA_PATHS) };
    if (r < 0.55) return { op: 'exists', path: this.rng.pick(DATA_PATHS) };
    if (r < 0.65) return { op: 'getChildren', path: this.rng.pick(this.rng.chance(0.7) ? PARENT_PATHS : DATA_PATHS) };
    if (r < 0.74) return { op: 'addWatch', path: this.rng.pick(this.rng.chance(0.8) ? DATA_PATHS : PARENT_PATHS), mode: 'persistent' };
    if (r < 0.8) {
      // The root's recursive watch hears of every change: rare, it fills the outbox.
      const path = this.rng.chance(0.1) ? '/' : this.rng.pick(this.rng.chance(0.6) ? DATA_PATHS : PARENT_PATHS.slice(0, 2));
      return { op: 'addWatch', path, mode: 'persistent_recursive' };
    }
    const path = kept.length > 0 && this.rng.chance(0.85) ? this.rng.pick(kept) : this.rng.pick(DATA_PATHS);
    return { op: 'removeWatches', path, watchType: this.rng.pick(REMOVE_TYPES) };
  }

  private remember(session: number, path: string): void {
    const kept = this.watched.get(session) ?? [];
    if (!kept.includes(path)) kept.push(path);
    if (kept.length > WATCHED_KEPT) kept.shift();
    this.watched.set(session, kept);
  }
}

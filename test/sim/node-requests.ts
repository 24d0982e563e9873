/**
 * What the clients of the node simulation ask for (node-workload.ts sends it and records it):
 * mostly writes on a few shared and ephemeral paths (creates, setData unconditional and
 * compare-and-set, deletes, multis), unique creates, sequential creates, containers and TTL nodes
 * for the Reaper, and sessions: open with one of a few timeouts, close, ephemeral creates under
 * the client's own sessions. Every value written is unique, so the checkers can find a request in
 * the log. Draws from the workload's stream, in the order the workload always has.
 */
import { OPEN_ACL } from '../../src/core/acl/acl.ts';
import type { Txn, WriteOp } from '../../src/core/tree/txn.ts';
import type { CreateMode } from '../../src/core/tree/znode.ts';
import type { Prng } from '../support/prng.ts';

/** Persistent paths every client contends on. */
export const SHARED_PATHS = ['/k0', '/k1', '/k2', '/k3'] as const;
/** Paths created as ephemerals only. */
export const EPHEMERAL_PATHS = ['/e0', '/e1', '/e2'] as const;
/** The paths the linearizability check follows (sequential, container and TTL nodes are left to the final checks). */
export const MODELED_PATH = /^\/(k|e|u)\d+$/;
/** Session timeouts clients ask for: 1000 is negotiated up to 2000; 20 to 40 ticks, 2 to 4 election timeouts. */
const REQUESTED_TIMEOUTS_MS = [1000, 2000, 3000, 4000] as const;
/** Past it, a client closes one of its sessions rather than open another. */
const SESSIONS_PER_CLIENT_MAX = 3;
/** Container children and TTL nodes remembered for later deletes and sets. */
const CLEANABLES_KEPT = 20;

/** A client's next request: a transaction for host.submit, or a session operation for the SessionManager. */
export type Request =
  | { readonly type: 'txn'; readonly txn: Txn }
  | { readonly type: 'open'; readonly requestedMs: number }
  | { readonly type: 'close'; readonly session: number };

/** What the request depends on of its client. */
export interface Asker {
  /** Its open sessions. */
  readonly sessions: readonly number[];
  /** The last version it saw of each path: its compare-and-set guess. */
  readonly versions: ReadonlyMap<string, number>;
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

export class RequestMaker {
  /** Container children and TTL nodes acknowledged created (the latest few). */
  private readonly cleanables: string[] = [];
  private counter = 0;

  constructor(private readonly rng: Prng) {}

  /** A create was acknowledged: a container child or TTL node is kept for later requests. */
  created(path: string): void {
    if (!/^\/(c\d\/x|t)\d+$/.test(path)) return;
    this.cleanables.push(path);
    if (this.cleanables.length > CLEANABLES_KEPT) this.cleanables.shift();
  }

  private value(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  /** The client's next request. */
  next(client: Asker): Request {
    const r = this.rng.next();
    const txn = (t: Txn): Request => ({ type: 'txn', txn: t });
    if (r < 0.58) return txn(this.keyed(client, r));
    if (r < 0.62) return txn(write([create(`/u${this.counter}`, this.value('c'))]));
    if (r < 0.66) {
      const session = client.sessions.length > 0 && this.rng.chance(0.5) ? this.rng.pick(client.sessions) : 0;
      return txn(write([create(session ? '/es' : '/s', this.value('c'), session ? 'ephemeral_sequential' : 'persistent_sequential')], false, session));
    }
    if (r < 0.76) return txn(this.cleanable());
    const full = client.sessions.length >= SESSIONS_PER_CLIENT_MAX;
    if ((r < 0.84 && !full) || client.sessions.length === 0) return { type: 'open', requestedMs: this.rng.pick(REQUESTED_TIMEOUTS_MS) };
    const session = this.rng.pick(client.sessions);
    if (r < 0.9 || full) return { type: 'close', session };
    return txn(write([create(this.rng.pick(EPHEMERAL_PATHS), this.value('c'), 'ephemeral')], false, session));
  }

  /** Requests on the paths the linearizability check follows. */
  private keyed(client: Asker, r: number): Txn {
    const any = (): string => this.rng.pick(this.rng.chance(0.7) ? SHARED_PATHS : EPHEMERAL_PATHS);
    if (r < 0.14) return write([create(this.rng.pick(SHARED_PATHS), this.value('c'))]);
    if (r < 0.28) return write([{ type: 'setData', path: any(), data: bytes(this.value('v')), version: -1 }]);
    if (r < 0.4) {
      const path = any();
      return write([{ type: 'setData', path, data: bytes(this.value('v')), version: this.guess(client, path) }]);
    }
    if (r < 0.49) {
      const path = any();
      return write([{ type: 'delete', path, version: this.rng.chance(0.5) ? -1 : this.guess(client, path) }]);
    }
    return this.multi(client);
  }

  /** Containers with children, TTL nodes: what the leader's Reaper cleans up. */
  private cleanable(): Txn {
    const container = this.rng.pick(['/c0', '/c1']);
    const known = this.cleanables.length > 0 ? this.rng.pick(this.cleanables) : undefined;
    switch (this.rng.int(5)) {
      case 0:
        return write([create(container, this.value('c'), 'container')]);
      case 1:
        return write([create(`${container}/x${this.counter}`, this.value('c'))]);
      case 2:
        return write([{ type: 'create', path: `/t${this.counter}`, data: bytes(this.value('c')), mode: 'persistent_with_ttl', ttlMs: 100 * (1 + this.rng.int(10)), acl: OPEN_ACL }]);
      case 3:
        return known ? write([{ type: 'delete', path: known, version: -1 }]) : write([create(container, this.value('c'), 'container')]);
      default:
        return known ? write([{ type: 'setData', path: known, data: bytes(this.value('v')), version: -1 }]) : write([create(`${container}/x${this.counter}`, this.value('c'))]);
    }
  }

  private guess(client: Asker, path: string): number {
    return client.versions.get(path) ?? this.rng.int(3);
  }

  /** Two or three ops on distinct shared paths, all or nothing; sometimes with an ephemeral create too. */
  private multi(client: Asker): Txn {
    const paths = [...SHARED_PATHS];
    for (let i = paths.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [paths[i], paths[j]] = [paths[j]!, paths[i]!];
    }
    const ops = paths.slice(0, 2 + this.rng.int(2)).map((path): WriteOp => {
      const version = this.rng.chance(0.5) ? -1 : this.guess(client, path);
      switch (this.rng.int(4)) {
        case 0: return { type: 'check', path, version };
        case 1: return create(path, this.value('c'));
        case 2: return { type: 'setData', path, data: bytes(this.value('v')), version };
        default: return { type: 'delete', path, version };
      }
    });
    if (client.sessions.length === 0 || !this.rng.chance(0.3)) return write(ops, true);
    ops.splice(this.rng.int(ops.length + 1), 0, create(this.rng.pick(EPHEMERAL_PATHS), this.value('c'), 'ephemeral'));
    return write(ops, true, this.rng.pick(client.sessions));
  }
}

function create(path: string, data: string, mode: CreateMode = 'persistent'): WriteOp {
  return { type: 'create', path, data: bytes(data), mode, ttlMs: -1, acl: OPEN_ACL };
}

/** The workload's callers have no identities (the proposals carry none, so the leader stamps none). */
function write(ops: WriteOp[], multi = false, sessionId = 0): Txn {
  return { type: 'write', ops, multi, sessionId, auth: [] };
}

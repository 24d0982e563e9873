/**
 * The replicated table of request ids (Raft dissertation §6.3, client sessions): for each
 * (client, request id) the first attempt's zxid, its result and a digest of the operation, so
 * that `DataTree.apply` answers a retry with the first answer instead of applying it again, on
 * every member alike and after any restart (the table is in every checkpoint).
 *
 * Namespaces: `client` is `session:<id>` for a request acting for a session, else the caller's
 * principal; ids of one client are never looked up for another.
 *
 * Bounds, the same on every member (only log order decides what is kept): at most
 * REQUEST_IDS_PER_CLIENT_MAX ids per client and REQUEST_IDS_MAX in all. Past either, the oldest
 * entry by zxid goes (the client's own oldest when that client is over its bound, else the oldest
 * of all). A retry of an evicted id is applied again: ids are for retries of recent requests.
 * A session's ids go when the session ends (closed or expired): a retry then gets SESSIONEXPIRED.
 *
 * Invariants: entries are kept in zxid order, per client and in all; each zxid has one entry.
 */
import { assert } from '../errors.ts';
import { OldestFirst } from '../oldest-first.ts';
import type { WriteResult } from './results.ts';

export const REQUEST_IDS_PER_CLIENT_MAX = 1_000;
export const REQUEST_IDS_MAX = 100_000;

/** The first attempt of one request: what a retry of it is answered. */
export interface RequestRecord {
  readonly client: string;
  readonly id: string;
  /** The zxid the first attempt was applied at. */
  readonly zxid: number;
  /** writeDigest() of the first attempt's operation. */
  readonly digest: string;
  readonly result: WriteResult;
}

export interface RequestLimits {
  readonly perClientMax: number;
  readonly totalMax: number;
}

const DEFAULT_LIMITS: RequestLimits = { perClientMax: REQUEST_IDS_PER_CLIENT_MAX, totalMax: REQUEST_IDS_MAX };

const SESSION_PREFIX = 'session:';

/** The request namespace of a session. */
export const sessionClient = (sessionId: number): string => `${SESSION_PREFIX}${sessionId}`;

/** The session a client namespace belongs to (NaN for a malformed one), or undefined for a principal. */
export function sessionOfClient(client: string): number | undefined {
  if (!client.startsWith(SESSION_PREFIX)) return undefined;
  const rest = client.slice(SESSION_PREFIX.length);
  return /^[0-9]{1,16}$/.test(rest) ? Number(rest) : NaN;
}

const keyOf = (client: string, id: string): string => `${client}\u0000${id}`;

/** One client's ids, oldest zxid first, and how its oldest is taken. */
interface ClientIds {
  readonly ids: Map<string, RequestRecord>;
  readonly oldest: OldestFirst<string, RequestRecord>;
}

export class RequestTable {
  /** Every entry, oldest zxid first (insertion order). */
  private readonly entries = new Map<string, RequestRecord>();
  private readonly oldest = new OldestFirst(this.entries);
  private readonly clients = new Map<string, ClientIds>();
  private newestZxid = 0;

  constructor(records: Iterable<RequestRecord> = [], private readonly limits: RequestLimits = DEFAULT_LIMITS) {
    assert(limits.perClientMax >= 1 && limits.totalMax >= 1, 'request table limits must be positive');
    const sorted = [...records].sort((a, b) => a.zxid - b.zxid);
    for (const record of sorted) this.record(record);
  }

  get size(): number {
    return this.entries.size;
  }

  get(client: string, id: string): RequestRecord | undefined {
    return this.clients.get(client)?.ids.get(id);
  }

  /** Every entry, oldest first: what a checkpoint stores. */
  all(): RequestRecord[] {
    return [...this.entries.values()];
  }

  /** Ids a client has in the table. */
  countOf(client: string): number {
    return this.clients.get(client)?.ids.size ?? 0;
  }

  /** Remembers a first attempt, applied after every entry here; evicts past the bounds. */
  record(record: RequestRecord): void {
    assert(record.zxid > this.newestZxid, `request ${record.id} at zxid ${record.zxid} not after ${this.newestZxid}`);
    const key = keyOf(record.client, record.id);
    assert(!this.entries.has(key), `request ${record.id} of ${record.client} recorded twice`);
    this.newestZxid = record.zxid;
    this.entries.set(key, record);
    let client = this.clients.get(record.client);
    if (!client) {
      const ids = new Map<string, RequestRecord>();
      this.clients.set(record.client, (client = { ids, oldest: new OldestFirst(ids) }));
    }
    client.ids.set(record.id, record);
    if (client.ids.size > this.limits.perClientMax) this.remove(client.oldest.take()![1]);
    if (this.entries.size > this.limits.totalMax) this.remove(this.oldest.take()![1]);
    assert(client.ids.size <= this.limits.perClientMax && this.entries.size <= this.limits.totalMax, 'request table over its bounds');
  }

  /** Forgets a client's ids (its session ended). */
  dropClient(client: string): void {
    const ids = this.clients.get(client)?.ids;
    if (!ids) return;
    for (const id of ids.keys()) this.entries.delete(keyOf(client, id));
    this.clients.delete(client);
  }

  /** Forgets `record` (already taken off the front of one of the maps by its cursor). */
  private remove(record: RequestRecord): void {
    this.entries.delete(keyOf(record.client, record.id));
    const { ids } = this.clients.get(record.client)!;
    ids.delete(record.id);
    if (ids.size === 0) this.clients.delete(record.client);
  }
}

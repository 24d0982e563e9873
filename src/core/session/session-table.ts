/**
 * The replicated table of open sessions: part of the state machine, changed only by applying
 * createSession / closeSession txns, so every replica agrees on which sessions exist and which
 * ephemerals each owns. Liveness (who was heard from when) is not here: that is the leader's
 * SessionTracker, outside the replicated state.
 */

export interface SessionRecord {
  readonly id: number;
  readonly timeoutMs: number;
  /** SHA-256 of the session's token, hex; the token itself is never stored. */
  readonly tokenHash: string;
  /** The identities of the request that opened it (`scheme:id`): its watches deliver only what they may read. */
  readonly auth: readonly string[];
}

export class SessionTable {
  private readonly sessions = new Map<number, SessionRecord>();
  private readonly ephemerals = new Map<number, Set<string>>();

  constructor(records: Iterable<SessionRecord> = []) {
    for (const record of records) this.sessions.set(record.id, record);
  }

  get size(): number {
    return this.sessions.size;
  }

  get(id: number): SessionRecord | undefined {
    return this.sessions.get(id);
  }

  all(): SessionRecord[] {
    return [...this.sessions.values()];
  }

  open(record: SessionRecord): void {
    this.sessions.set(record.id, record);
  }

  close(id: number): void {
    this.sessions.delete(id);
  }

  /** Paths of the session's ephemeral nodes, sorted. */
  ephemeralsOf(id: number): string[] {
    return [...(this.ephemerals.get(id) ?? [])].sort();
  }

  addEphemeral(owner: number, path: string): void {
    let set = this.ephemerals.get(owner);
    if (!set) this.ephemerals.set(owner, (set = new Set()));
    set.add(path);
  }

  removeEphemeral(owner: number, path: string): void {
    const set = this.ephemerals.get(owner);
    set?.delete(path);
    if (set?.size === 0) this.ephemerals.delete(owner);
  }
}

/**
 * Checkpoints of the tree in SQLite, znodes packed into pages (src/storage/checkpoint-pages.ts),
 * written in chunks (one transaction each) so writes keep flowing while a checkpoint is taken. A
 * checkpoint counts only once its `complete` flag is set, in the same transaction that retires the
 * older ones; a crash half-way leaves an incomplete one that the next start removes.
 */
import { AclCache } from '../core/acl/acl.ts';
import { clusterConfig, type ClusterConfig } from '../core/consensus/cluster-config.ts';
import type { CheckpointImage } from '../core/tree/checkpoint-image.ts';
import type { SessionRecord } from '../core/session/session-table.ts';
import { parseRequestRecord } from '../core/tree/request-record.ts';
import type { RequestRecord } from '../core/tree/request-table.ts';
import { isWatchKind, type WatchRecord } from '../core/watch/watch-registry.ts';
import type { Znode } from '../core/tree/znode.ts';
import { decodePage, encodePages, PAGE_NODES } from './checkpoint-pages.ts';
import { crc32 } from './crc32.ts';
import type { SqliteDb } from './database.ts';
import { StorageCorruptError } from './storage-error.ts';

export interface CheckpointMeta {
  readonly gen: number;
  readonly index: number;
  readonly term: number;
  readonly zxid: number;
  readonly nodeCount: number;
}

/** The checksum of a request record's row, over every column. */
export function requestRowCrc(client: string, id: string, zxid: number, digest: string, result: string): number {
  return crc32(`${client}\n${id}\n${zxid}\n${digest}\n${result}`);
}

/** What a whole checkpoint holds. */
export type CheckpointContents = CheckpointImage;

export class CheckpointStore {
  constructor(private readonly db: SqliteDb) {}

  /** The newest complete checkpoint, after discarding any incomplete one (at start-up). */
  latest(): CheckpointMeta | undefined {
    const incomplete = this.db.prepare('SELECT gen FROM checkpoints WHERE complete = 0').all() as Array<{ gen: number }>;
    for (const { gen } of incomplete) this.drop(gen);
    return this.current();
  }

  /** The newest complete checkpoint, leaving any being written alone. */
  current(): CheckpointMeta | undefined {
    const row = this.db
      .prepare('SELECT gen, idx, term, zxid, node_count AS nodeCount FROM checkpoints WHERE complete = 1 ORDER BY gen DESC LIMIT 1')
      .get() as { gen: number; idx: number; term: number; zxid: number; nodeCount: number } | undefined;
    return row && { gen: row.gen, index: row.idx, term: row.term, zxid: row.zxid, nodeCount: row.nodeCount };
  }

  /** Reads every node of a checkpoint. */
  nodes(meta: CheckpointMeta): Znode[] {
    return [...this.eachNode(meta)];
  }

  /**
   * Every node of a checkpoint, a page at a time, for a tree to take each while it is fresh in the
   * cache (not after the whole list is built); the statement stays open until the last is read.
   * A plain iterator, not a generator: resuming a generator per node was ~8 % of a 1M-node start.
   */
  eachNode(meta: CheckpointMeta): Iterable<Znode> {
    const rows = this.db.prepare('SELECT head, data, acls, crc FROM checkpoint_pages WHERE gen = ? ORDER BY seq').raw().iterate(meta.gen) as IterableIterator<[Buffer, Buffer, string | null, number]>;
    const page: Znode[] = [];
    const acls = new AclCache();
    let at = 0;
    let count = 0;
    const next = (): IteratorResult<Znode> => {
      while (at === page.length) {
        const row = rows.next();
        if (row.done) {
          page.length = 0;
          at = 0;
          if (count !== meta.nodeCount) throw new StorageCorruptError(`checkpoint ${meta.gen} has ${count} nodes, expected ${meta.nodeCount}`);
          return { done: true, value: undefined };
        }
        const [head, data, aclText, crc] = row.value;
        page.length = 0;
        at = 0;
        try {
          count += decodePage({ head, data, acls: aclText, crc }, page, acls);
        } catch (error) {
          rows.return?.(); // a for-of does not close an iterator whose next() throws
          throw error;
        }
      }
      return { done: false, value: page[at++]! };
    };
    // Stopping early (a tree that refuses the checkpoint) closes the statement.
    const stop = (): IteratorResult<Znode> => {
      rows.return?.();
      return { done: true, value: undefined };
    };
    return { [Symbol.iterator]: () => ({ next, return: stop }) };
  }

  /** The cluster configuration as of the checkpoint; undefined when none was stored (the one given at start holds). */
  config(meta: CheckpointMeta): ClusterConfig | undefined {
    const row = this.db.prepare('SELECT config FROM checkpoint_config WHERE gen = ?').get(meta.gen) as { config: string } | undefined;
    if (!row) return undefined;
    try {
      const raw = JSON.parse(row.config) as ClusterConfig;
      const ids = (v: unknown): v is number[] => Array.isArray(v) && v.every((id) => Number.isSafeInteger(id) && id > 0);
      if (!ids(raw.voters) || !ids(raw.learners) || typeof raw.addresses !== 'object' || raw.addresses === null) throw new Error('bad shape');
      return clusterConfig(raw.voters, raw.learners, raw.addresses);
    } catch (error) {
      throw new StorageCorruptError(`checkpoint ${meta.gen} has an unreadable cluster configuration: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The sessions open at the checkpoint. */
  sessions(meta: CheckpointMeta): SessionRecord[] {
    const rows = this.db
      .prepare('SELECT id, timeout_ms AS timeoutMs, token_hash AS tokenHash, auth FROM checkpoint_sessions WHERE gen = ?')
      .all(meta.gen) as Array<Omit<SessionRecord, 'auth'> & { auth: string }>;
    return rows.map((r) => ({ ...r, auth: identitiesOf(r.auth, r.id) }));
  }

  /** The watches set at the checkpoint. */
  watches(meta: CheckpointMeta): WatchRecord[] {
    const rows = this.db
      .prepare('SELECT session_id AS sessionId, kind, path FROM checkpoint_watches WHERE gen = ?')
      .all(meta.gen) as Array<{ sessionId: number; kind: string; path: string }>;
    return rows.map((r) => {
      if (!isWatchKind(r.kind)) throw new StorageCorruptError(`checkpoint ${meta.gen} has a watch of unknown kind ${r.kind}`);
      return { sessionId: r.sessionId, kind: r.kind, path: r.path };
    });
  }

  /**
   * The request-id table at the checkpoint, oldest first; each row checked against its CRC and
   * read field by field (a damaged one refuses the start, as a damaged page does).
   */
  requests(meta: CheckpointMeta): RequestRecord[] {
    const rows = this.db
      .prepare('SELECT client, id, zxid, digest, result, crc FROM checkpoint_requests WHERE gen = ? ORDER BY zxid')
      .all(meta.gen) as Array<{ client: string; id: string; zxid: number; digest: string; result: string; crc: number }>;
    return rows.map((row) => {
      const what = `checkpoint ${meta.gen} has a damaged request record (${JSON.stringify(row.client)}, ${JSON.stringify(row.id)})`;
      if (requestRowCrc(row.client, row.id, row.zxid, row.digest, row.result) !== row.crc) throw new StorageCorruptError(`${what}: checksum mismatch`);
      let result: unknown;
      try {
        result = JSON.parse(row.result);
      } catch {
        throw new StorageCorruptError(`${what}: its result is not JSON`);
      }
      const record = parseRequestRecord({ client: row.client, id: row.id, zxid: row.zxid, digest: row.digest, result });
      if (!record || record.zxid > meta.zxid) throw new StorageCorruptError(`${what}: unreadable`);
      return record;
    });
  }

  /** Starts a checkpoint: its metadata and the session, watch and request records, in one transaction. */
  begin(
    meta: Omit<CheckpointMeta, 'gen'>, sessions: readonly SessionRecord[], nowMs: number, watches: readonly WatchRecord[] = [],
    requests: readonly RequestRecord[] = [], config?: ClusterConfig,
  ): number {
    return this.db.transaction(() => {
      const result = this.db
        .prepare('INSERT INTO checkpoints (idx, term, zxid, node_count, complete, created_ms) VALUES (?, ?, ?, ?, 0, ?)')
        .run(meta.index, meta.term, meta.zxid, meta.nodeCount, nowMs);
      const gen = Number(result.lastInsertRowid);
      if (config) this.db.prepare('INSERT INTO checkpoint_config (gen, config) VALUES (?, ?)').run(gen, JSON.stringify(config));
      const insert = this.db.prepare('INSERT INTO checkpoint_sessions (gen, id, timeout_ms, token_hash, auth) VALUES (?, ?, ?, ?, ?)');
      for (const s of sessions) insert.run(gen, s.id, s.timeoutMs, s.tokenHash, JSON.stringify(s.auth));
      const watch = this.db.prepare('INSERT OR IGNORE INTO checkpoint_watches (gen, session_id, kind, path) VALUES (?, ?, ?, ?)');
      for (const w of watches) watch.run(gen, w.sessionId, w.kind, w.path);
      const request = this.db.prepare('INSERT INTO checkpoint_requests (gen, client, id, zxid, digest, result, crc) VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const r of requests) {
        const result = JSON.stringify(r.result);
        request.run(gen, r.client, r.id, r.zxid, r.digest, result, requestRowCrc(r.client, r.id, r.zxid, r.digest, result));
      }
      return gen;
    })();
  }

  /** Appends `nodes` to checkpoint `gen` (any order), in one transaction. */
  writeChunk(gen: number, nodes: readonly Znode[]): void {
    this.db.transaction(() => {
      const last = this.db.prepare('SELECT max(seq) AS seq FROM checkpoint_pages WHERE gen = ?').get(gen) as { seq: number | null };
      let seq = (last.seq ?? -1) + 1;
      const insert = this.db.prepare('INSERT INTO checkpoint_pages (gen, seq, head, data, acls, crc) VALUES (?, ?, ?, ?, ?, ?)');
      for (const page of encodePages(nodes)) insert.run(gen, seq++, page.head, page.data, page.acls, page.crc);
    })();
  }

  /** Marks `gen` complete and retires older checkpoints in one transaction, with `alsoRun` (log compaction). */
  complete(gen: number, alsoRun: () => void): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE checkpoints SET complete = 1 WHERE gen = ?').run(gen);
      this.db.prepare('UPDATE checkpoints SET complete = 0 WHERE gen < ?').run(gen);
      alsoRun();
    })();
  }

  /**
   * A whole checkpoint in one transaction (one received from the leader), made the latest with
   * `alsoRun` (the log restarting after it); older ones are retired for pruneChunk to delete.
   */
  writeWhole(image: CheckpointContents, nowMs: number, alsoRun: () => void, config?: ClusterConfig): number {
    return this.db.transaction(() => {
      const { index, term, zxid, nodes, sessions, watches, requests } = image;
      const gen = this.begin({ index, term, zxid, nodeCount: nodes.length }, sessions, nowMs, watches, requests, config);
      this.writeChunk(gen, nodes);
      this.complete(gen, alsoRun);
      return gen;
    })();
  }

  /**
   * Deletes pages of checkpoints retired before `currentGen`, about `maxNodes` znodes' worth (at
   * least one page) per call; answers how many pages went, 0 when none are left.
   */
  pruneChunk(currentGen: number, maxNodes: number): number {
    const stale = this.db.prepare('SELECT gen FROM checkpoints WHERE complete = 0 AND gen < ? ORDER BY gen LIMIT 1').get(currentGen) as
      | { gen: number }
      | undefined;
    if (!stale) return 0;
    const pages = Math.max(1, Math.floor(maxNodes / PAGE_NODES));
    const deleted = this.db
      .prepare('DELETE FROM checkpoint_pages WHERE gen = ? AND seq IN (SELECT seq FROM checkpoint_pages WHERE gen = ? ORDER BY seq LIMIT ?)')
      .run(stale.gen, stale.gen, pages).changes;
    if (deleted < pages) this.drop(stale.gen);
    return Math.max(deleted, 1);
  }

  private drop(gen: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM checkpoint_pages WHERE gen = ?').run(gen);
      this.db.prepare('DELETE FROM checkpoint_sessions WHERE gen = ?').run(gen);
      this.db.prepare('DELETE FROM checkpoint_watches WHERE gen = ?').run(gen);
      this.db.prepare('DELETE FROM checkpoint_requests WHERE gen = ?').run(gen);
      this.db.prepare('DELETE FROM checkpoint_config WHERE gen = ?').run(gen);
      this.db.prepare('DELETE FROM checkpoints WHERE gen = ?').run(gen);
    })();
  }
}

function identitiesOf(text: string, session: number): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) {
    throw new StorageCorruptError(`checkpoint session ${session} has unreadable identities`);
  }
  return parsed as string[];
}

/**
 * `npx tsx bench/micro/log-append.ts`: CPU per entry of the SQLite log's append on this
 * machine, batches of 24 setData entries (what setData-64 commits per fsync here), with a
 * checkpoint's compaction and pruning every 50k entries, as a served node does. No fsync: the
 * host syncs off the loop. Prints three rounds after a warm-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../src/core/consensus/types.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { SqliteLogStore } from '../../src/storage/log-store.ts';
import { encodeTxn } from '../../src/node/txn-codec.ts';

const BATCH = 24;
const BATCHES_PER_ROUND = 4000;
const dir = mkdtempSync(join(tmpdir(), 'corral-log-append-'));
try {
  const db = openDatabase(join(dir, 'corral.db'));
  const log = new SqliteLogStore(db, { index: 0, term: 0 });
  const data = encodeTxn({
    timeMs: Date.now(),
    txn: { type: 'write', ops: [{ type: 'setData', path: '/bench-s/n123', data: new Uint8Array(100).fill(7), version: -1 }], multi: false, sessionId: 0, auth: [] },
  });
  let index = 0;
  const round = (batches: number): number => {
    const started = process.cpuUsage();
    for (let b = 0; b < batches; b++) {
      const entries: Entry[] = [];
      for (let i = 0; i < BATCH; i++) entries.push({ index: ++index, term: 1, data });
      log.append(entries, { term: 1, vote: 1, commit: index - BATCH });
      if (log.size() >= 50_000) {
        log.compact(index - 1000, 1);
        while ((log.pruneCompacted?.(2000) ?? 0) > 0);
      }
    }
    const used = process.cpuUsage(started);
    return (used.user + used.system) / (batches * BATCH);
  };
  round(BATCHES_PER_ROUND / 2);
  const rounds = [round(BATCHES_PER_ROUND), round(BATCHES_PER_ROUND), round(BATCHES_PER_ROUND)];
  console.log(`log append, ${BATCH} entries of ${data.length} chars per transaction: ${rounds.map((us) => us.toFixed(2)).join(' / ')} µs of CPU per entry`);
  log.close();
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

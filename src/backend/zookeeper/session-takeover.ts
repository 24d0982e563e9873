/**
 * A gateway taking over a session another gateway held (it died, or the client moved): read the
 * session's WatchRecord from the ensemble, queue its recorded events again with their ids (the
 * stream's Last-Event-ID skips those the client had), and re-register its watches, each relative
 * to the read that set it, so the ensemble fires at once what changed since (setWatches2). Where
 * that cannot be exact (no readable record, a persistent watch, events older than the record
 * keeps), positions before the takeover are marked lost: the stream says `overflow`.
 */
import { parseEventId, type Outbox } from '../../node/outbox.ts';
import type { ZooKeeperClient } from '../../zookeeper-client/client.ts';
import { loadRecord } from './record-store.ts';
import type { RecordedEvent, WatchRecord } from './watch-record.ts';

export interface Takeover {
  /** The record the session goes on with (the loaded one, or `fallback` when unreadable). */
  readonly record: WatchRecord;
  /** Whether the stream resumes exactly (else positions up to the attach are marked lost). */
  readonly exact: boolean;
}

/** `adopt` is called with the record before any watch is re-registered: the events those fire go on it. */
export async function takeOver(
  client: ZooKeeperClient, sessionId: bigint, outbox: Outbox, attachedAt: number, fallback: WatchRecord, adopt: (record: WatchRecord) => void,
): Promise<Takeover> {
  const loaded = await loadRecord(client, sessionId, fallback.eventsMax);
  const record = loaded ?? fallback;
  adopt(record);
  let exact = loaded !== undefined && loaded.catchesUp;
  if (exact) {
    requeue(outbox, record.recorded);
    if (record.droppedThrough >= 0) outbox.markLostThrough(record.droppedThrough);
  }
  for (const batch of record.rewatchBatches()) {
    const error = await client.setWatches(batch.relativeZxid, batch);
    if (error) {
      exact = false;
      break;
    }
  }
  if (!exact) {
    // The zxid now (a re-attach's handshake carries none): every position before it may have missed events.
    const probed = await client.probe();
    outbox.markLostThrough('code' in probed ? Number.MAX_SAFE_INTEGER : Math.max(attachedAt, Number(probed.zxid)));
  }
  return { record, exact };
}

/** Pushes the recorded events newer than the outbox's newest (all of them into a new outbox), keeping their ids. */
export function requeue(outbox: Outbox, events: readonly RecordedEvent[]): void {
  const newest = outbox.lastId === undefined ? undefined : parseEventId(outbox.lastId);
  let previous = -1;
  let k = 0;
  for (const e of events) {
    k = e.zxid === previous ? k + 1 : 0;
    previous = e.zxid;
    if (newest === undefined || e.zxid > newest.zxid || (e.zxid === newest.zxid && k > newest.k)) {
      outbox.push(e.zxid, 'watch', { type: e.type, path: e.path, zxid: String(e.zxid) });
    }
  }
}

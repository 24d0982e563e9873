/**
 * The pure parts of a session takeover between gateways: the watch record (what fired, what is
 * still set and since when, the events kept), the stream's deferred resume point, and the
 * re-queueing of recorded events with the ids the stream gave them.
 */
import { describe, expect, it } from 'vitest';
import { DeferredEvents } from '../../../src/backend/zookeeper/deferred-events.ts';
import { requeue } from '../../../src/backend/zookeeper/session-takeover.ts';
import { WatchRecord } from '../../../src/backend/zookeeper/watch-record.ts';
import { Outbox } from '../../../src/node/outbox.ts';

describe('WatchRecord', () => {
  it('drops the one-shot watches an event fired and keeps the event, as ZooKeeper\'s client does', () => {
    const record = new WatchRecord(10);
    record.added('data', '/a', 5);
    record.added('child', '/a', 6);
    record.added('exist', '/b', 7);
    record.fired([{ type: 'NodeDataChanged', path: '/a' }], 9);
    expect(record.rewatchBatches()).toEqual([
      { relativeZxid: 6n, data: [], exist: [], child: ['/a'], persistent: [], persistentRecursive: [] },
      { relativeZxid: 7n, data: [], exist: ['/b'], child: [], persistent: [], persistentRecursive: [] },
    ]);
    record.fired([{ type: 'NodeDeleted', path: '/a' }], 10);
    expect(record.watchCount).toBe(1);
    expect(record.recorded).toEqual([{ zxid: 9, type: 'NodeDataChanged', path: '/a' }, { zxid: 10, type: 'NodeDeleted', path: '/a' }]);
  });

  it('re-registers only the strongest kind held on each path (ZooKeeper 3.8 keeps the last mode registered)', () => {
    const record = new WatchRecord(10);
    record.added('persistentRecursive', '/r', 3);
    record.added('persistent', '/r', 4);
    record.added('data', '/r', 5);
    record.added('persistent', '/p', 6);
    record.added('child', '/p', 7);
    record.added('exist', '/e', 8);
    expect(record.rewatchBatches()).toEqual([
      { relativeZxid: 3n, data: [], exist: [], child: [], persistent: [], persistentRecursive: ['/r'] },
      { relativeZxid: 6n, data: [], exist: [], child: [], persistent: ['/p'], persistentRecursive: [] },
      { relativeZxid: 8n, data: [], exist: ['/e'], child: [], persistent: [], persistentRecursive: [] },
    ]);
    expect(record.watchCount).toBe(6);
  });

  it('survives its JSON form, and says a persistent watch cannot catch up', () => {
    const record = new WatchRecord(10);
    record.added('persistentRecursive', '/p', 3);
    record.fired([{ type: 'NodeCreated', path: '/p/x' }], 4);
    const copy = WatchRecord.parse(record.toJson(), 10)!;
    expect(copy.toJson()).toBe(record.toJson());
    expect(copy.catchesUp).toBe(false);
    copy.removed('/p', 'any');
    expect(copy.catchesUp).toBe(true);
    expect(WatchRecord.parse('{"v":0}', 10)).toBeUndefined();
    expect(WatchRecord.parse('not json', 10)).toBeUndefined();
  });

  it('drops its oldest events a whole zxid at a time past its bound, remembering through which zxid', () => {
    const record = new WatchRecord(2);
    record.fired([{ type: 'NodeCreated', path: '/a' }, { type: 'NodeCreated', path: '/b' }], 5);
    record.fired([{ type: 'NodeCreated', path: '/c' }], 6);
    expect(record.recorded.map((e) => e.path)).toEqual(['/c']);
    expect(record.droppedThrough).toBe(5);
  });
});

describe('requeue', () => {
  it('gives recorded events the ids they had, and skips those the outbox already holds', () => {
    const events = [{ zxid: 5, type: 'NodeCreated' as const, path: '/a' }, { zxid: 5, type: 'NodeCreated' as const, path: '/b' }, { zxid: 7, type: 'NodeDeleted' as const, path: '/a' }];
    const fresh = new Outbox(100);
    requeue(fresh, events);
    expect(fresh.read(0)).toMatchObject([{ id: '5-0' }, { id: '5-1' }, { id: '7-0' }]);
    const earlier = new Outbox(100);
    earlier.push(5, 'watch', {});
    requeue(earlier, events);
    expect((earlier.read(0) as { id: string }[]).map((e) => e.id)).toEqual(['5-0', '5-1', '7-0']);
  });
});

describe('DeferredEvents', () => {
  it('decides where a stream resumes only once the takeover has queued what it had', async () => {
    const outbox = new Outbox(100);
    const events = new DeferredEvents(outbox);
    const cursor = events.cursorAfter({ zxid: 5, k: 0 });
    expect(cursor.ok).toBe(true);
    const seq = (cursor as { seq: number }).seq;
    expect(events.read(seq)).toEqual([]);
    let woken = false;
    const waiting = events.waitFor(seq).then(() => (woken = true));
    outbox.push(5, 'watch', { n: 0 });
    outbox.push(5, 'watch', { n: 1 });
    expect(woken).toBe(false);
    events.open();
    await waiting;
    expect(events.read(seq)).toMatchObject([{ id: '5-1' }]);
  });

  it('tells a stream resuming from before what was lost that it overflowed', () => {
    const outbox = new Outbox(100);
    const events = new DeferredEvents(outbox);
    const cursor = events.cursorAfter({ zxid: 3, k: 0 }) as { seq: number };
    outbox.markLostThrough(4);
    events.open();
    expect(events.read(cursor.seq)).toBe('overflow');
  });
});

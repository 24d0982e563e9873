// Specification of a session's outbox (src/node/outbox.ts): event ids `<zxid>-<k>`, unique and
// increasing; Last-Event-ID replay of exactly what follows; bounded, with overflow reported only
// when a reader still needed a dropped event.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Outbox, parseEventId, type OutboxEvent } from '../../src/node/outbox.ts';

function filled(zxids: readonly number[], maxEvents = 1000): { outbox: Outbox; pushed: OutboxEvent[] } {
  const outbox = new Outbox(maxEvents);
  const pushed = zxids.map((zxid, i) => outbox.push(zxid, 'watch', { n: i }));
  return { outbox, pushed };
}

const order = (e: { zxid: number; k: number }) => [e.zxid, e.k] as const;
const before = (a: { zxid: number; k: number }, b: { zxid: number; k: number }) =>
  a.zxid < b.zxid || (a.zxid === b.zxid && a.k < b.k);

/** What a reader resuming after `lastId` gets, as ids, or 'overflow'. */
function replay(outbox: Outbox, lastId: string | undefined): string[] | 'overflow' {
  const cursor = outbox.cursorAfter(lastId === undefined ? undefined : parseEventId(lastId));
  if (!cursor.ok) return 'overflow';
  const events = outbox.read(cursor.seq);
  return events === 'overflow' ? 'overflow' : events.map((e) => e.id);
}

describe('Outbox ids', () => {
  it('numbers the events of one zxid from 0 and starts again at the next zxid', () => {
    const { pushed } = filled([10, 10, 10, 12, 15, 15]);
    expect(pushed.map((e) => e.id)).toEqual(['10-0', '10-1', '10-2', '12-0', '15-0', '15-1']);
    expect(pushed.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(pushed.map((e) => parseEventId(e.id))).toEqual(pushed.map((e) => ({ zxid: e.zxid, k: e.k })));
  });

  it('gives unique, strictly increasing ids for any nondecreasing zxids, even as old events are dropped', () => {
    const gaps = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 80 });
    fc.assert(fc.property(gaps, fc.integer({ min: 1, max: 10 }), (steps, maxEvents) => {
      let zxid = 2 ** 32;
      const { pushed } = filled(steps.map((gap) => (zxid += gap)), maxEvents);
      expect(new Set(pushed.map((e) => e.id)).size).toBe(pushed.length);
      for (let i = 1; i < pushed.length; i++) expect(before(pushed[i - 1]!, pushed[i]!), `${pushed[i - 1]!.id} < ${pushed[i]!.id}`).toBe(true);
      for (const e of pushed) expect(e.id).toBe(`${e.zxid}-${e.k}`);
    }));
  });
});

describe('parseEventId', () => {
  it.each(['4294967297-0', '12-3', ' 12-3 '])('accepts %j', (raw) => {
    expect(parseEventId(raw)).toBeDefined();
  });

  it.each(['', 'abc', '12', '12-', '-3', '12-3-4', '1.5-0', '12345678901234567-0', '9007199254740993-0'])('rejects %j', (raw) => {
    expect(parseEventId(raw)).toBeUndefined();
  });
});

describe('Outbox.cursorAfter (Last-Event-ID)', () => {
  it('starts a first reader (no Last-Event-ID) at the session\'s first event, so nothing before it is missed', () => {
    const { outbox } = filled([10, 11]);
    expect(replay(outbox, undefined)).toEqual(['10-0', '11-0']);
    expect(replay(new Outbox(10), undefined)).toEqual([]);
  });

  it('reports overflow to a first reader when the session\'s early events were dropped', () => {
    const { outbox } = filled([10, 11, 12], 2);
    expect(replay(outbox, undefined)).toBe('overflow');
  });

  it('replays exactly the events after the given id, none twice, for every id', () => {
    const { outbox, pushed } = filled([10, 10, 11, 14, 14, 14, 20]);
    for (let i = 0; i < pushed.length; i++) {
      expect(replay(outbox, pushed[i]!.id)).toEqual(pushed.slice(i + 1).map((e) => e.id));
    }
  });

  it('resumes after an id the outbox never held, by its place in (zxid, k) order', () => {
    const { outbox } = filled([10, 10, 14, 20]);
    expect(replay(outbox, '10-5')).toEqual(['14-0', '20-0']);
    expect(replay(outbox, '15-0')).toEqual(['20-0']);
    expect(replay(outbox, '99-0')).toEqual([]);
  });

  it('reports overflow when an event after Last-Event-ID was dropped', () => {
    const { outbox, pushed } = filled([10, 11, 12, 13, 14], 3); // 10-0 and 11-0 dropped
    expect(replay(outbox, pushed[0]!.id)).toBe('overflow');
    expect(replay(outbox, '0-0')).toBe('overflow');
  });

  it('does not report overflow when only events up to Last-Event-ID were dropped', () => {
    const { outbox, pushed } = filled([10, 11, 12, 13, 14], 3);
    expect(replay(outbox, pushed[1]!.id)).toEqual(['12-0', '13-0', '14-0']);
    expect(replay(outbox, pushed[3]!.id)).toEqual(['14-0']);
    expect(replay(outbox, pushed[4]!.id)).toEqual([]);
  });

  it('reports overflow to a reader resuming from before a restart lost its events, and to a first reader (it may have missed them)', () => {
    const outbox = new Outbox(10);
    outbox.markLostThrough(50); // recovered at zxid 50: what was queued before is gone
    outbox.push(60, 'watch', {});
    expect(replay(outbox, '40-0')).toBe('overflow');
    expect(replay(outbox, '50-3')).toBe('overflow');
    expect(replay(outbox, undefined)).toBe('overflow');
    expect(replay(outbox, '60-0')).toEqual([]);
  });

  it('agrees with a model: replay is the suffix after the id, or overflow iff part of it was dropped', () => {
    const zxids = fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 40 });
    fc.assert(fc.property(zxids, fc.integer({ min: 1, max: 8 }), fc.nat(), (gaps, maxEvents, pick) => {
      let zxid = 100;
      const { outbox, pushed } = filled(gaps.map((gap) => (zxid += gap)), maxEvents);
      const lastIndex = pick % pushed.length;
      const wanted = pushed.slice(lastIndex + 1).map((e) => e.id);
      const keptFrom = Math.max(0, pushed.length - maxEvents);
      const expected = lastIndex + 1 < keptFrom ? 'overflow' : wanted;
      expect(replay(outbox, pushed[lastIndex]!.id)).toEqual(expected);
    }));
  });
});

describe('Outbox.read and waitFor', () => {
  it('answers overflow to a reader whose position was dropped', () => {
    const { outbox } = filled([1, 2, 3], 2);
    expect(outbox.read(0)).toBe('overflow');
    expect((outbox.read(1) as OutboxEvent[]).map(order)).toEqual([[2, 0], [3, 0]]);
    expect(outbox.read(3)).toEqual([]);
  });

  it('keeps the payload as JSON and the event kind', () => {
    const outbox = new Outbox(10);
    const e = outbox.push(5, 'session', { state: 'closed', zxid: '5' });
    expect(e).toMatchObject({ event: 'session', id: '5-0' });
    expect(JSON.parse(e.data)).toEqual({ state: 'closed', zxid: '5' });
  });

  it('resolves a waiter at the next push, and at once when it is behind', async () => {
    const outbox = new Outbox(10);
    let woke = false;
    const waiting = outbox.waitFor(0).then(() => (woke = true));
    await Promise.resolve();
    expect(woke).toBe(false);
    outbox.push(1, 'watch', {});
    await waiting;
    expect(woke).toBe(true);
    await outbox.waitFor(0); // already behind: resolves at once
  });

  it('wakes every waiter on wakeAll', async () => {
    const outbox = new Outbox(10);
    const waits = [outbox.waitFor(0), outbox.waitFor(0)];
    outbox.wakeAll();
    await Promise.all(waits);
  });
});

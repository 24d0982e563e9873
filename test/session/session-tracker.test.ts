// Specification of session liveness (src/core/session/session-tracker.ts): ZooKeeper's timeout
// negotiation and the leader's expiry bookkeeping. Time is passed in, so these tests need no clock.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { negotiateTimeout, SessionTracker } from '../../src/core/session/session-tracker.ts';

describe('negotiateTimeout', () => {
  const cases = [
    { requestedMs: 1, tickTimeMs: 2000, negotiatedMs: 4000 },
    { requestedMs: 3999, tickTimeMs: 2000, negotiatedMs: 4000 },
    { requestedMs: 4000, tickTimeMs: 2000, negotiatedMs: 4000 },
    { requestedMs: 10_000, tickTimeMs: 2000, negotiatedMs: 10_000 },
    { requestedMs: 40_000, tickTimeMs: 2000, negotiatedMs: 40_000 },
    { requestedMs: 40_001, tickTimeMs: 2000, negotiatedMs: 40_000 },
    { requestedMs: 1, tickTimeMs: 100, negotiatedMs: 200 },
    { requestedMs: 750, tickTimeMs: 100, negotiatedMs: 750 },
    { requestedMs: 60_000, tickTimeMs: 100, negotiatedMs: 2000 },
  ] as const;

  it.each(cases)('negotiates $requestedMs ms with tickTime $tickTimeMs to $negotiatedMs ms', ({ requestedMs, tickTimeMs, negotiatedMs }) => {
    expect(negotiateTimeout(requestedMs, tickTimeMs)).toBe(negotiatedMs);
  });

  it('clamps every request into [2, 20] × tickTime and keeps one already inside', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 10_000_000 }), (tickTimeMs, requestedMs) => {
      const negotiated = negotiateTimeout(requestedMs, tickTimeMs);
      expect(negotiated).toBeGreaterThanOrEqual(2 * tickTimeMs);
      expect(negotiated).toBeLessThanOrEqual(20 * tickTimeMs);
      if (requestedMs >= 2 * tickTimeMs && requestedMs <= 20 * tickTimeMs) expect(negotiated).toBe(requestedMs);
    }));
  });
});

describe('SessionTracker', () => {
  it('expires a session once its timeout has passed without a touch, not before', () => {
    const tracker = new SessionTracker();
    tracker.add(7, 1000, 5000);
    expect(tracker.expired(5999, 10)).toEqual([]);
    expect(tracker.expired(6000, 10)).toEqual([7]);
  });

  it('lists expired sessions oldest deadline first, at most max', () => {
    const tracker = new SessionTracker();
    tracker.add(1, 3000, 0); // deadline 3000
    tracker.add(2, 1000, 0); // deadline 1000
    tracker.add(3, 2000, 0); // deadline 2000
    tracker.add(4, 9000, 0); // deadline 9000
    expect(tracker.expired(5000, 10)).toEqual([2, 3, 1]);
    expect(tracker.expired(5000, 2)).toEqual([2, 3]);
    expect(tracker.expired(500, 10)).toEqual([]);
  });

  it('pushes the deadline a full timeout past each touch', () => {
    const tracker = new SessionTracker();
    tracker.add(1, 1000, 0);
    expect(tracker.touch(1, 900)).toBe(true);
    expect(tracker.expired(1899, 10)).toEqual([]);
    expect(tracker.expired(1900, 10)).toEqual([1]);
  });

  it('reports a touch of an untracked or removed session as false and never expires it', () => {
    const tracker = new SessionTracker();
    expect(tracker.touch(42, 0)).toBe(false);
    tracker.add(1, 1000, 0);
    tracker.remove(1);
    expect(tracker.touch(1, 10)).toBe(false);
    expect(tracker.expired(1_000_000, 10)).toEqual([]);
    expect(tracker.size).toBe(0);
  });

  it('restarts a re-added session with a fresh full timeout (as after recovery)', () => {
    const tracker = new SessionTracker();
    tracker.add(1, 1000, 0);
    tracker.add(1, 1000, 5000);
    expect(tracker.size).toBe(1);
    expect(tracker.expired(5999, 10)).toEqual([]);
    expect(tracker.expired(6000, 10)).toEqual([1]);
  });

  it('keeps expiring a session until it is removed (the expiry is a txn applied later)', () => {
    const tracker = new SessionTracker();
    tracker.add(1, 100, 0);
    expect(tracker.expired(200, 10)).toEqual([1]);
    expect(tracker.expired(300, 10)).toEqual([1]);
    tracker.remove(1);
    expect(tracker.expired(300, 10)).toEqual([]);
  });

  it('agrees with a model of deadlines under random adds, touches and removes', () => {
    const step = fc.record({
      kind: fc.constantFrom('add', 'touch', 'remove'), id: fc.integer({ min: 1, max: 5 }),
      advanceMs: fc.integer({ min: 0, max: 500 }), timeoutMs: fc.integer({ min: 1, max: 1000 }),
    });
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const tracker = new SessionTracker();
      const model = new Map<number, { deadline: number; timeoutMs: number }>();
      let now = 0;
      for (const s of steps) {
        now += s.advanceMs;
        if (s.kind === 'add') {
          tracker.add(s.id, s.timeoutMs, now);
          model.set(s.id, { deadline: now + s.timeoutMs, timeoutMs: s.timeoutMs });
        } else if (s.kind === 'touch') {
          const known = model.get(s.id);
          expect(tracker.touch(s.id, now)).toBe(known !== undefined);
          if (known) known.deadline = now + known.timeoutMs;
        } else {
          tracker.remove(s.id);
          model.delete(s.id);
        }
        const due = [...model].filter(([, m]) => m.deadline <= now).map(([id]) => id).sort();
        expect([...tracker.expired(now, 100)].sort()).toEqual(due);
      }
    }));
  });
});

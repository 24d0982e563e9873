import { describe, expect, it } from 'vitest';

// src/ reads a possibly empty array's last item with .at(-1) (ConfHistory.current(), the Raft
// core's Ready, the outbox), not items[items.length - 1]: these pin what that relies on.
const lastOf = <T>(items: readonly T[]): T | undefined => items.at(-1);

describe('the last item of an array (.at(-1))', () => {
  it('answers the last item of an array', () => {
    expect(lastOf([1, 2, 3])).toBe(3);
    expect(lastOf(['only'])).toBe('only');
  });

  it('answers undefined for an empty array without reading a property named "-1"', () => {
    // items[items.length - 1] on an empty array reads the property "-1" (off V8's fast path).
    const empty: string[] = [];
    Object.defineProperty(empty, '-1', { get: () => { throw new Error('read "-1"'); } });
    expect(lastOf(empty)).toBeUndefined();
  });

  it('answers an undefined last item as undefined, not as the item before it', () => {
    expect(lastOf([1, undefined])).toBeUndefined();
  });
});

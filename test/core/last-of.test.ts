import { describe, expect, it } from 'vitest';
import { lastOf } from '../../src/core/last-of.ts';

describe('lastOf', () => {
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

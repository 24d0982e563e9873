import { describe, expect, it } from 'vitest';
import { isMemberId, parseMemberId } from '../../src/core/consensus/cluster-config.ts';

describe('parseMemberId', () => {
  const cases = [
    ['1', 1], ['42', 42], ['9007199254740991', 9007199254740991],
    ['0', undefined], ['-1', undefined], ['01', undefined], ['1.5', undefined], ['1e3', undefined], [' 1', undefined],
    ['', undefined], ['0x10', undefined], ['9007199254740992', undefined], ['12345678901234567', undefined],
  ] as const;
  it.each(cases)('reads %j as %j', (text, id) => {
    expect(parseMemberId(text)).toBe(id);
  });
});

describe('isMemberId', () => {
  const cases = [[1, true], [7, true], [0, false], [-3, false], [1.5, false], [Number.MAX_SAFE_INTEGER + 1, false], ['1', false], [null, false]] as const;
  it.each(cases)('holds %j a member id: %j', (value, expected) => {
    expect(isMemberId(value)).toBe(expected);
  });
});

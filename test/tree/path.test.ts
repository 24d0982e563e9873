import { describe, expect, it } from 'vitest';
import {
  childPath, isWithin, nameOf, parentOf, pathError, sequentialSuffix,
} from '../../src/core/tree/path.ts';

describe('pathError', () => {
  it.each([
    ['/'],
    ['/a'],
    ['/a/b'],
    ['/a.b'],
    ['/..a'],
    ['/a..'],
    ['/a/...'],
    ['/.a/b.'],
    ['/zookeeper/config'],
    ['/a b/ü/日本'],
    ['/\u00a0'],
    ['/\uf900'],
    ['/\uffef'],
  ])('accepts the valid path %j', (path) => {
    expect(pathError(path)).toBeUndefined();
  });

  it.each([
    ['', 'empty'],
    ['a', 'not absolute'],
    ['a/b', 'not absolute'],
    ['/a/', 'trailing slash'],
    ['//', 'trailing slash'],
    ['//a', 'empty segment'],
    ['/a//b', 'empty segment'],
    ['/.', 'a "." segment'],
    ['/..', 'a ".." segment'],
    ['/a/.', 'a "." segment'],
    ['/a/..', 'a ".." segment'],
    ['/a/./b', 'a "." segment'],
    ['/a/../b', 'a ".." segment'],
    ['\u0000', 'not absolute'],
    ['/a\u0000b', 'NUL'],
    ['/a\u0001', 'U+0001'],
    ['/\u001f', 'U+001F'],
    ['/\u007f', 'U+007F'],
    ['/\u009f', 'U+009F'],
    ['/\ud83d\ude00', 'a surrogate pair'],
    ['/\ud800', 'a lone high surrogate'],
    ['/\uf8ff', 'U+F8FF (private use)'],
    ['/\ufff0', 'U+FFF0'],
    ['/\uffff', 'U+FFFF'],
  ])('refuses %j (%s)', (path) => {
    expect(pathError(path)).toEqual(expect.any(String));
  });
});

describe('parentOf', () => {
  it.each([
    ['/a', '/'],
    ['/a/b', '/a'],
    ['/a/b/c', '/a/b'],
    ['/zookeeper/config', '/zookeeper'],
    ['/a.b/..c', '/a.b'],
  ])('gives the parent of %j as %j', (path, parent) => {
    expect(parentOf(path)).toBe(parent);
  });

  it('gives the requested parent for a sequential create path ending in /', () => {
    expect(parentOf('/a/')).toBe('/a');
  });
});

describe('nameOf and childPath', () => {
  it.each([
    ['/', 'a', '/a'],
    ['/a', 'b', '/a/b'],
    ['/a/b', 'c-0000000001', '/a/b/c-0000000001'],
  ])('joins %j and %j into %j, and splits it back', (parent, name, path) => {
    expect(childPath(parent, name)).toBe(path);
    expect(nameOf(path)).toBe(name);
    expect(parentOf(path)).toBe(parent);
  });
});

describe('isWithin', () => {
  it.each([
    ['/a', '/', true],
    ['/a', '/a', true],
    ['/a/b', '/a', true],
    ['/ab', '/a', false],
    ['/a', '/a/b', false],
    ['/', '/a', false],
  ])('says %j within %j is %s', (path, ancestor, within) => {
    expect(isWithin(path, ancestor)).toBe(within);
  });
});

describe('sequentialSuffix', () => {
  it.each([
    [0, '0000000000'],
    [7, '0000000007'],
    [42, '0000000042'],
    [1_000_000_000, '1000000000'],
    [2_147_483_647, '2147483647'],
    // Java's String.format("%010d", int): the counter is an int and wraps past 2^31 - 1.
    [2_147_483_648, '-2147483648'],
    [2_147_483_649, '-2147483647'],
    [4_294_967_295, '-000000001'],
    [4_294_967_296, '0000000000'],
    [-5, '-000000005'],
  ])('formats counter %d as %j', (counter, suffix) => {
    expect(sequentialSuffix(counter)).toBe(suffix);
  });
});

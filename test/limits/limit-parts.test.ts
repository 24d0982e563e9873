// The parts the limits are made of (src/http/limits/): whom a limit counts, slots taken and given
// back, and the token bucket, on an injected clock.
import { describe, expect, it } from 'vitest';
import { limitKeyOf } from '../../src/http/limits/caller-key.ts';
import { KeyedSlots } from '../../src/http/limits/keyed-slots.ts';
import { RateLimiter } from '../../src/http/limits/rate-limit.ts';

describe('limitKeyOf', () => {
  const cases = [
    ['an anonymous caller is its address', ['ip:10.0.0.1'], 'ip:10.0.0.1'],
    ['a certificate names the caller from any address', ['x509:CN=alice', 'ip:10.0.0.1'], 'x509:CN=alice'],
    ['a verified token names the caller, not its groups', ['jwt:alice', 'jwt-group:ops', 'ip:10.0.0.1'], 'jwt:alice'],
    ['the superuser is one caller', ['digest:admin:HASH', 'super:', 'ip:10.0.0.1'], 'super:'],
    ['a claimed digest is not a caller of its own (anyone can make one up)', ['digest:mallory:HASH', 'ip:10.0.0.1'], 'ip:10.0.0.1'],
    ['a digest with a certificate is the certificate', ['digest:bob:HASH', 'x509:CN=bob', 'ip:10.0.0.1'], 'x509:CN=bob'],
    ['no address at all', [], 'ip:unknown'],
  ] as const;
  it.each(cases)('%s', (_, auth, key) => {
    expect(limitKeyOf(auth)).toBe(key);
  });
});

describe('KeyedSlots', () => {
  it('refuses past the total and past a key\'s share, and gives a slot back exactly once', () => {
    const slots = new KeyedSlots({ total: 3, perKey: 2 });
    const a1 = slots.acquire('a');
    const a2 = slots.acquire('a');
    expect(slots.acquire('a')).toBe('perKey');
    const b1 = slots.acquire('b');
    expect(slots.acquire('c')).toBe('total');
    if (typeof a1 !== 'function' || typeof a2 !== 'function' || typeof b1 !== 'function') throw new Error('slots refused');
    a1();
    a1();
    expect(slots.size).toBe(2);
    expect(slots.heldBy('a')).toBe(1);
    expect(typeof slots.acquire('c')).toBe('function');
    expect(slots.acquire('c')).toBe('total');
  });

  it('has no limit at 0', () => {
    const slots = new KeyedSlots({ total: 0, perKey: 0 });
    for (let i = 0; i < 100; i++) expect(typeof slots.acquire('a')).toBe('function');
  });
});

describe('RateLimiter', () => {
  it('lets a burst through, then one request per 1/rate seconds, and says how long to wait', () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 10, burst: 3, nowMs: () => now });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(100);
    expect(limiter.take('b')).toBe(0);
    now += 100;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(100);
    now += 10_000;
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0, 100]);
  });

  it('holds at most bucketsMax buckets, dropping the least recently used', () => {
    let now = 0;
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 1, nowMs: () => now, bucketsMax: 2 });
    limiter.take('a');
    limiter.take('b');
    limiter.take('a');
    limiter.take('c');
    expect(limiter.size).toBe(2);
    // 'b' was dropped (a full bucket is the same as none); 'a' was kept and is still empty.
    expect(limiter.take('a')).toBeGreaterThan(0);
    now += 0;
    expect(limiter.take('b')).toBe(0);
  });
});

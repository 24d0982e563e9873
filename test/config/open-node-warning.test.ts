/** The start-up warning ZooKeeper users do not get: a node open to a real network says so. */
import { describe, expect, it } from 'vitest';
import { openNodeWarning } from '../../src/server.ts';

describe('openNodeWarning', () => {
  const open = { authRequired: false, host: '0.0.0.0', tlsCert: '' };

  it('warns about a node on a non-loopback address with neither --auth-required nor TLS', () => {
    expect(openNodeWarning(open)).toMatch(/without --auth-required or TLS/);
  });

  it('is quiet on loopback, with --auth-required, or with TLS', () => {
    expect(openNodeWarning({ ...open, host: '127.0.0.1' })).toBeUndefined();
    expect(openNodeWarning({ ...open, authRequired: true })).toBeUndefined();
    expect(openNodeWarning({ ...open, tlsCert: '/etc/corral/server.pem' })).toBeUndefined();
  });
});

/**
 * The Basic credential a caller proved is kept beside its Caller, for a ZooKeeper gateway's
 * addauth: readable through digestCredentialOf only, never part of the Caller itself.
 */
import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/auth/authenticator.ts';
import { digestCredentialOf } from '../../src/auth/proven-credentials.ts';
import type { Caller } from '../../src/backend/backend.ts';

const basic = (userPassword: string) => `Basic ${Buffer.from(userPassword).toString('base64')}`;

function callerOf(authenticator: Authenticator, authorization: string | undefined): Caller {
  const caller = authenticator.authenticate({ authorization, address: '127.0.0.1' });
  if (caller instanceof Promise || 'code' in caller) throw new Error('not a caller');
  return caller;
}

describe('proven credentials', () => {
  it('gives the user:password of a Basic caller, also from the cached Caller', () => {
    const authenticator = new Authenticator({});
    expect(digestCredentialOf(callerOf(authenticator, basic('alice:pa:ss')))).toBe('alice:pa:ss');
    expect(digestCredentialOf(callerOf(authenticator, basic('alice:pa:ss')))).toBe('alice:pa:ss');
  });

  it('has none for an anonymous caller', () => {
    expect(digestCredentialOf(callerOf(new Authenticator({}), undefined))).toBeUndefined();
  });

  it('keeps the password out of the Caller (its keys, JSON and inspection)', () => {
    const caller = callerOf(new Authenticator({}), basic('bob:hunter2-secret'));
    expect(JSON.stringify(caller)).not.toContain('hunter2-secret');
    expect(Object.values(caller).flat().join(' ')).not.toContain('hunter2-secret');
  });
});

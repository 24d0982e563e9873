import { describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/auth/authenticator.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('Authenticator', () => {
  it('remembers a well-formed short credential, answering the same caller again', () => {
    const auth = new Authenticator();
    const first = auth.authenticate({ authorization: basic('bob', 'secret'), address: '127.0.0.1' });
    expect(auth.authenticate({ authorization: basic('bob', 'secret'), address: '127.0.0.1' })).toBe(first);
    expect(auth.cachedCredentials).toBe(1);
  });

  it('remembers neither malformed nor long credentials, so a client cannot fill memory with them', () => {
    const auth = new Authenticator();
    for (let i = 0; i < 100; i++) {
      expect(auth.authenticate({ authorization: `Basic !${i}`, address: '127.0.0.1' })).toMatchObject({ code: 'AUTHFAILED' });
      const long = auth.authenticate({ authorization: basic(`u${i}`, 'x'.repeat(4000)), address: '127.0.0.1' });
      expect(long).toMatchObject({ identities: [expect.stringMatching(/^digest:u\d+:/)] });
    }
    expect(auth.cachedCredentials).toBe(0);
  });

  it('gives the superuser super: besides its digest, and every caller its ip', () => {
    const auth = new Authenticator({ superDigest: 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=' });
    expect(auth.authenticate({ authorization: basic('super', 'test'), address: '::ffff:10.0.0.1' })).toMatchObject({
      identities: ['digest:super:D/InIHSb7yEEbrWz8b9l71RjZJU=', 'super:'], auth: ['digest:super:D/InIHSb7yEEbrWz8b9l71RjZJU=', 'super:', 'ip:10.0.0.1'],
    });
    expect(auth.authenticate({ authorization: undefined, address: '10.0.0.2' })).toMatchObject({ identities: [], auth: ['ip:10.0.0.2'] });
  });
});

import { describe, expect, it } from 'vitest';
import { digestOf, parseBasic, parseSuperDigest } from '../../src/auth/digest.ts';

// Expected hashes come from `printf 'user:password' | openssl dgst -binary -sha1 | base64`.
const basic = (text: string): string => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

describe('digestOf', () => {
  it("is ZooKeeper's generateDigest: user, colon, base64 of SHA-1 of user:password", () => {
    expect(digestOf('super', 'test')).toBe('super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    expect(digestOf('bob', 'secret')).toBe('bob:fyVmFCwVbTJYrznoSu1koqYEYF0=');
  });

  it('hashes the UTF-8 bytes of non-ASCII users and passwords', () => {
    expect(digestOf('zoë', 'pässwörd')).toBe('zoë:1vDM7UOOFLJri3bAl57HySUKtpI=');
  });

  it('hashes a password containing colons and an empty password as they are', () => {
    expect(digestOf('bob', 'a:b')).toBe('bob:J4+K+FVuB1hEWvxpNRVKdRWAekY=');
    expect(digestOf('bob', '')).toBe('bob:tK1fpNO1hB0F++FhHpSq0Fa4tv0=');
  });
});

describe('parseBasic', () => {
  it('reads the user and password of a Basic header', () => {
    expect(parseBasic(basic('bob:secret'))).toEqual({ user: 'bob', password: 'secret' });
  });

  it('takes the scheme in any case and one or more spaces after it (RFC 7617)', () => {
    const token = Buffer.from('bob:secret').toString('base64');
    expect(parseBasic(`bAsIc ${token}`)).toEqual({ user: 'bob', password: 'secret' });
    expect(parseBasic(`BASIC   ${token}`)).toEqual({ user: 'bob', password: 'secret' });
  });

  it('splits at the first colon: the password may hold colons, the user never does', () => {
    expect(parseBasic(basic('bob:a:b:c'))).toEqual({ user: 'bob', password: 'a:b:c' });
  });

  it('accepts an empty password and base64 without its padding', () => {
    expect(parseBasic(basic('bob:'))).toEqual({ user: 'bob', password: '' });
    expect(parseBasic('Basic Ym9iOng')).toEqual({ user: 'bob', password: 'x' }); // "bob:x", '=' dropped
  });

  it('decodes UTF-8', () => {
    expect(parseBasic(basic('zoë:pässwörd'))).toEqual({ user: 'zoë', password: 'pässwörd' });
  });

  it('refuses text without a colon, or with an empty user', () => {
    expect(parseBasic(basic('bob'))).toBeUndefined();
    expect(parseBasic(basic(':secret'))).toBeUndefined();
    expect(parseBasic(basic(''))).toBeUndefined();
  });

  it('refuses other schemes and a missing or extra token', () => {
    expect(parseBasic('Bearer Ym9iOnNlY3JldA==')).toBeUndefined();
    expect(parseBasic('Basic')).toBeUndefined();
    expect(parseBasic('Basic ')).toBeUndefined();
    expect(parseBasic('BasicYm9iOnNlY3JldA==')).toBeUndefined();
    expect(parseBasic('Basic Ym9iOnNlY3JldA== extra')).toBeUndefined();
    expect(parseBasic(' Basic Ym9iOnNlY3JldA==')).toBeUndefined();
    expect(parseBasic('Basic\tYm9iOnNlY3JldA==')).toBeUndefined();
    expect(parseBasic('')).toBeUndefined();
  });

  it('refuses characters outside standard base64, misplaced padding and impossible lengths', () => {
    expect(parseBasic('Basic Ym9iOn*lY3JldA==')).toBeUndefined();
    expect(parseBasic('Basic Ym9iOn-lY3JldA==')).toBeUndefined(); // base64url
    expect(parseBasic('Basic Ym9i=OnNlY3JldA==')).toBeUndefined();
    expect(parseBasic('Basic Ym9iOnNlY3JldA===')).toBeUndefined();
    expect(parseBasic('Basic Ym9iO')).toBeUndefined(); // 5 characters cannot end base64
  });

  it('refuses non-canonical base64, whose last character sets bits past the data', () => {
    expect(parseBasic('Basic Ym9iOng=')).toEqual({ user: 'bob', password: 'x' });
    expect(parseBasic('Basic Ym9iOnh=')).toBeUndefined();
  });

  it('refuses bytes that are not UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('b'), Buffer.from([0xff]), Buffer.from(':secret')]);
    expect(parseBasic(`Basic ${bytes.toString('base64')}`)).toBeUndefined();
  });

  it('refuses control characters in the user or the password', () => {
    expect(parseBasic(basic('bo\nb:secret'))).toBeUndefined();
    expect(parseBasic(basic('bob:sec\u0000ret'))).toBeUndefined();
    expect(parseBasic(basic('bob:secret\u007f'))).toBeUndefined();
  });
});

describe('parseSuperDigest', () => {
  it('returns a ZooKeeper superDigest as given', () => {
    expect(parseSuperDigest('super:D/InIHSb7yEEbrWz8b9l71RjZJU=')).toBe('super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
  });

  it('accepts whatever digestOf produces', () => {
    for (const [user, password] of [['a', 'b'], ['zoë', 'pässwörd'], ['ops-admin', 'x:y']] as const) {
      const digest = digestOf(user, password);
      expect(parseSuperDigest(digest)).toBe(digest);
    }
  });

  it('refuses a value without a user or a hash', () => {
    expect(parseSuperDigest('')).toBeUndefined();
    expect(parseSuperDigest('super')).toBeUndefined();
    expect(parseSuperDigest(':D/InIHSb7yEEbrWz8b9l71RjZJU=')).toBeUndefined();
    expect(parseSuperDigest('super:')).toBeUndefined();
  });

  it('refuses a hash that is not the 28-character base64 of 20 bytes', () => {
    expect(parseSuperDigest('super:test')).toBeUndefined(); // the password itself, a common mistake
    expect(parseSuperDigest('super:D/InIHSb7yEEbrWz8b9l71RjZJU')).toBeUndefined();
    expect(parseSuperDigest('super:D/InIHSb7yEEbrWz8b9l71RjZJU==')).toBeUndefined();
    expect(parseSuperDigest('super:D/InIHSb7yEEbrWz8b9l71RjZJV=')).toBeUndefined(); // non-canonical last character
    expect(parseSuperDigest('super:D-InIHSb7yEEbrWz8b9l71RjZJU=')).toBeUndefined();
    expect(parseSuperDigest('a:b:D/InIHSb7yEEbrWz8b9l71RjZJU=')).toBeUndefined();
  });

  it('refuses a trailing newline and control characters', () => {
    expect(parseSuperDigest('super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n')).toBeUndefined();
    expect(parseSuperDigest('super:D/InIHSb7yEEbrWz8b9l71RjZJU= ')).toBeUndefined();
    expect(parseSuperDigest('su\tper:D/InIHSb7yEEbrWz8b9l71RjZJU=')).toBeUndefined();
  });
});

/**
 * The authenticate step with a client certificate (src/auth/authenticator.ts): a certificate the
 * TLS layer verified names the caller `x509:<subject DN>`, alone or beside the Authorization
 * header's identities; a refused credential stays refused.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator, isAuthenticated } from '../../src/auth/authenticator.ts';
import { digestOf } from '../../src/auth/digest.ts';
import type { Caller } from '../../src/backend/backend.ts';
import { removeDir } from '../support/corral-process.ts';
import { ALICE, makeTestPki, type TestPki } from './tls-fixture.ts';

let pki: TestPki;
let alice: X509Certificate;

beforeAll(() => {
  pki = makeTestPki();
  alice = new X509Certificate(readFileSync(pki.alice.cert!));
});

afterAll(() => {
  removeDir(pki.dir);
});

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('Authenticator with a verified client certificate', () => {
  it('names the caller by the certificate\'s subject, in ZooKeeper\'s x509 form', () => {
    const caller = new Authenticator().authenticate({ authorization: undefined, address: '127.0.0.1', certificate: alice }) as Caller;
    expect(caller.identities).toEqual([ALICE]);
    expect(caller.auth).toEqual([ALICE, 'ip:127.0.0.1']);
    expect(isAuthenticated(caller)).toBe(true);
  });

  it('answers the same frozen caller for the same connection\'s certificate', () => {
    const authenticator = new Authenticator();
    const first = authenticator.authenticate({ authorization: undefined, address: '127.0.0.1', certificate: alice });
    expect(authenticator.authenticate({ authorization: undefined, address: '127.0.0.1', certificate: alice })).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('adds the certificate\'s identity to a Basic credential\'s', () => {
    const caller = new Authenticator().authenticate({ authorization: basic('carol', 'pw'), address: '10.0.0.1', certificate: alice }) as Caller;
    expect(caller.identities).toEqual([`digest:${digestOf('carol', 'pw')}`, ALICE]);
    expect(caller.address).toBe('10.0.0.1');
  });

  it('still refuses a malformed credential sent beside a certificate (AUTHFAILED, never the certificate alone)', () => {
    const answer = new Authenticator().authenticate({ authorization: 'Basic !!!', address: '127.0.0.1', certificate: alice });
    expect(answer).toMatchObject({ code: 'AUTHFAILED' });
    expect(new Authenticator().authenticate({ authorization: 'Digest x', address: '127.0.0.1', certificate: alice })).toMatchObject({ code: 'AUTHFAILED' });
  });

  it('is anonymous without a certificate', () => {
    const caller = new Authenticator().authenticate({ authorization: undefined, address: '127.0.0.1' }) as Caller;
    expect(caller.identities).toEqual([]);
  });
});

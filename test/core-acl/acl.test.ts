import { describe, expect, it } from 'vitest';
import { AclCache, aclToJson, formatAcl, formatPerms, OPEN_ACL, parseAclJson, parseAclText, parsePerms, PERM } from '../../src/core/acl/acl.ts';
import { fixupAcl, permits, SUPER_IDENTITY, visibleAcl } from '../../src/core/acl/check.ts';

/** zkCli's `addauth digest bob:secret`: base64(sha1('bob:secret')). */
const BOB = 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=';

describe('parsePerms', () => {
  it('reads cdrwa letters in any order into ZooKeeper bits', () => {
    expect(parsePerms('cdrwa')).toBe(PERM.ALL);
    expect(parsePerms('r')).toBe(PERM.READ);
    expect(parsePerms('wr')).toBe(PERM.READ | PERM.WRITE);
    expect(parsePerms('')).toBe(0);
  });

  it('refuses unknown and repeated letters', () => {
    expect(parsePerms('rx')).toBeUndefined();
    expect(parsePerms('rr')).toBeUndefined();
  });

  it('prints in zkCli order', () => {
    expect(formatPerms(PERM.ADMIN | PERM.READ | PERM.CREATE)).toBe('cra');
  });
});

describe('parseAclText', () => {
  it("reads zkCli's compact form, the id being everything between the first and last colon", () => {
    const acl = parseAclText(`digest:${BOB}:cdrwa,world:anyone:r,ip:::1:r`);
    expect(acl).toEqual([
      { perms: PERM.ALL, scheme: 'digest', id: BOB },
      { perms: PERM.READ, scheme: 'world', id: 'anyone' },
      { perms: PERM.READ, scheme: 'ip', id: '::1' },
    ]);
  });

  it('reads the JSON form when the text starts with [', () => {
    expect(parseAclText('[{"perms":"r","scheme":"x509","id":"CN=alice,O=Example"}]'))
      .toEqual([{ perms: PERM.READ, scheme: 'x509', id: 'CN=alice,O=Example' }]);
  });

  it('answers the shared open ACL for world:anyone:cdrwa', () => {
    expect(parseAclText('world:anyone:cdrwa')).toBe(OPEN_ACL);
  });

  it.each([
    ['', 'empty'],
    ['world:anyone', 'no perms part'],
    ['world:anyone:rq', 'a perm letter outside cdrwa'],
    ['World!:anyone:r', 'a scheme that is not a name'],
    ['[{"perms":"r"}', 'broken JSON'],
    ['[{"perms":99,"scheme":"world","id":"anyone"}]', 'a perms mask past 31'],
  ])('fails with INVALIDACL on %j (%s)', (text) => {
    expect(parseAclText(text)).toMatchObject({ code: 'INVALIDACL' });
  });

  it('bounds the number of entries', () => {
    const many = Array.from({ length: 65 }, (_, i) => `ip:10.0.0.${i}:r`).join(',');
    expect(parseAclText(many)).toMatchObject({ code: 'INVALIDACL' });
  });

  it('round-trips through formatAcl and aclToJson', () => {
    const acl = parseAclText(`digest:${BOB}:cdra,world:anyone:r`);
    if ('code' in acl) throw new Error(acl.message);
    expect(parseAclText(formatAcl(acl))).toEqual(acl);
    expect(parseAclJson(aclToJson(acl))).toEqual(acl);
  });
});

describe('permits', () => {
  const acl = [
    { perms: PERM.ALL, scheme: 'digest', id: BOB },
    { perms: PERM.READ, scheme: 'ip', id: '10.1.0.0/16' },
    { perms: PERM.WRITE, scheme: 'jwt-group', id: 'ops' },
  ];

  it('grants what an entry matching one of the identities grants', () => {
    expect(permits(acl, PERM.DELETE, [`digest:${BOB}`, 'ip:127.0.0.1'])).toBe(true);
    expect(permits(acl, PERM.READ, ['ip:10.1.200.3'])).toBe(true);
    expect(permits(acl, PERM.WRITE, ['jwt:alice', 'jwt-group:ops', 'ip:127.0.0.1'])).toBe(true);
  });

  it('refuses a permission no matching entry grants', () => {
    expect(permits(acl, PERM.WRITE, ['ip:10.1.200.3'])).toBe(false);
    expect(permits(acl, PERM.READ, ['ip:10.2.0.1'])).toBe(false);
    expect(permits(acl, PERM.READ, ['digest:bob:wronghash='])).toBe(false);
    // A scheme prefix is not a match: `digest:bob...` is not `digestx:bob...`.
    expect(permits(acl, PERM.READ, [`digestx:${BOB}`])).toBe(false);
  });

  it('lets the superuser through every ACL', () => {
    expect(permits([{ perms: 0, scheme: 'digest', id: BOB }], PERM.ADMIN, [SUPER_IDENTITY])).toBe(true);
  });

  it('lets world:anyone entries grant everyone, and an empty ACL permit all (ZooKeeper checkACL)', () => {
    expect(permits([{ perms: PERM.READ, scheme: 'world', id: 'anyone' }], PERM.READ, [])).toBe(true);
    expect(permits([{ perms: PERM.READ, scheme: 'world', id: 'anyone' }], PERM.WRITE, [])).toBe(false);
    expect(permits([], PERM.ADMIN, [])).toBe(true);
  });
});

describe('fixupAcl', () => {
  it('expands auth to the caller\'s authenticated identities, never its ip', () => {
    const out = fixupAcl([{ perms: PERM.ALL, scheme: 'auth', id: '' }], [`digest:${BOB}`, 'jwt:alice', 'jwt-group:ops', 'ip:127.0.0.1'], '/a');
    expect(out).toEqual([
      { perms: PERM.ALL, scheme: 'digest', id: BOB },
      { perms: PERM.ALL, scheme: 'jwt', id: 'alice' },
    ]);
  });

  it('fails with INVALIDACL on auth from a caller with no authenticated identity', () => {
    expect(fixupAcl([{ perms: PERM.ALL, scheme: 'auth', id: '' }], ['ip:127.0.0.1'], '/a')).toMatchObject({ code: 'INVALIDACL', path: '/a' });
  });

  it.each([
    ['world', 'someone'],
    ['digest', 'bob'],
    ['digest', 'a:b:c'],
    ['ip', '10.0.0.1/33'],
    ['sasl', 'bob'],
    ['super', ''],
  ])('fails with INVALIDACL on %s:%s', (scheme, id) => {
    expect(fixupAcl([{ perms: PERM.READ, scheme, id }], [], '/a')).toMatchObject({ code: 'INVALIDACL' });
  });

  it('fails with INVALIDACL on an empty ACL and drops duplicates', () => {
    expect(fixupAcl([], [], '/a')).toMatchObject({ code: 'INVALIDACL' });
    const e = { perms: PERM.READ, scheme: 'world', id: 'anyone' };
    expect(fixupAcl([e, { ...e }], [], '/a')).toEqual([e]);
  });
});

describe('visibleAcl', () => {
  const acl = [{ perms: PERM.READ, scheme: 'world', id: 'anyone' }, { perms: PERM.ALL, scheme: 'digest', id: BOB }];

  it('shows the whole ACL to a caller with ADMIN', () => {
    expect(visibleAcl(acl, [`digest:${BOB}`])).toEqual(acl);
  });

  it('hides digest hashes from a caller with READ only', () => {
    expect(visibleAcl(acl, ['ip:127.0.0.1'])).toEqual([acl[0], { perms: PERM.ALL, scheme: 'digest', id: 'bob:x' }]);
  });

  it('fails with NOAUTH without READ or ADMIN', () => {
    expect(visibleAcl([{ perms: PERM.WRITE, scheme: 'world', id: 'anyone' }], [])).toMatchObject({ code: 'NOAUTH' });
  });
});

describe('AclCache', () => {
  it('interns equal ACLs to one frozen list', () => {
    const cache = new AclCache();
    const a = cache.intern([{ perms: 1, scheme: 'ip', id: '10.0.0.1' }]);
    const b = cache.intern([{ perms: 1, scheme: 'ip', id: '10.0.0.1' }]);
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(cache.intern(OPEN_ACL)).toBe(OPEN_ACL);
  });
});

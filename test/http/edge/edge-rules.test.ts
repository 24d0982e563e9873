/** The edge rules as values: which request targets every carrier routes alike, and which Hosts a node answers to. */
import { describe, expect, it } from 'vitest';
import { checkAllowedHost, hostAllowed, hostPolicyOf, hostRefusal, splitHost } from '../../../src/http/edge/host-guard.ts';
import { QueryParams, searchOf } from '../../../src/http/edge/query.ts';
import { hasDotSegment, targetRefusal } from '../../../src/http/edge/request-target.ts';

describe('targetRefusal', () => {
  const refused = [
    ['GET', 'http://x/v1/znodes/a'], ['DELETE', 'https://u:p@x/v1/znodes'], ['GET', 'v1/znodes'], ['GET', ''],
    ['GET', '*'], ['OPTIONS', 'x.example:443'],
    ['GET', '/v1/../v1/znodes'], ['GET', '/v1/znodes/.'], ['GET', '/v1/znodes/a/..'], ['GET', '/v1/%2e%2e/v1/znodes'],
    ['GET', '/v1/%2E%2E/x'], ['GET', '/v1/%2e./x'], ['GET', '/v1/.%2E/x'], ['GET', '/v1/znodes/%2e'],
    ['GET', '/v1/znodes/a%2F..%2Fb'], ['GET', '/v1/znodes/a%2f%2E'], ['GET', '/v1/znodes/a\\b'], ['GET', '/v1/znodes/a#b'],
    ['GET', '/v1/znodes/a?x=#'],
  ] as const;
  it.each(refused)('refuses %s %j with BADARGUMENTS', (method, target) => {
    expect(targetRefusal(method, target)).toMatchObject({ code: 'BADARGUMENTS' });
  });

  const accepted = [
    ['OPTIONS', '*'], ['GET', '/'], ['GET', '/v1/znodes'], ['GET', '/v1/znodes/a.b'], ['GET', '/v1/znodes/...'],
    ['GET', '/v1/znodes/.a'], ['GET', '/v1/znodes/a..'], ['GET', '/v1/znodes/%2e%2e%2e'], ['GET', '/v1/znodes/%252e%252e'],
    ['GET', '/v1/znodes/a%5Cb'], ['GET', '/v1/znodes/a%23b'], ['GET', '/v1/znodes/a?path=../..&x=a\\b'],
    ['GET', '/v1/znodes/a%2Fb'],
  ] as const;
  it.each(accepted)('lets %s %j through', (method, target) => {
    expect(targetRefusal(method, target)).toBeUndefined();
  });

  it('finds dot segments between %2F separators, not inside names', () => {
    expect(hasDotSegment('/a%2F.%2Fb')).toBe(true);
    expect(hasDotSegment('/a%2F.x%2Fb')).toBe(false);
  });
});

describe('hostPolicyOf', () => {
  it.each([['127.0.0.1'], ['127.3.2.1'], ['::1'], ['localhost']])('answers only the loopback names by default when bound to %s', (bind) => {
    const policy = hostPolicyOf(bind, []);
    for (const host of ['localhost', 'localhost:8181', '127.0.0.1:1', '[::1]', '[::1]:8181', 'LocalHost']) expect(hostAllowed(policy, host)).toBe(true);
    for (const host of ['evil.example', 'localhost.evil.example', '127.0.0.1.nip.io', '10.0.0.1', '127.0.0.1, evil.example', 'a b']) {
      expect(hostAllowed(policy, host)).toBe(false);
    }
  });

  it('answers a request without a Host (HTTP/1.0: no browser sends one)', () => {
    expect(hostAllowed(hostPolicyOf('127.0.0.1', []), undefined)).toBe(true);
    expect(hostAllowed(hostPolicyOf('127.0.0.1', ['corral.example']), '')).toBe(true);
  });

  it('answers the bound loopback address itself', () => {
    expect(hostAllowed(hostPolicyOf('127.0.0.5', []), '127.0.0.5:8181')).toBe(true);
  });

  it.each([['0.0.0.0'], ['10.1.2.3'], ['::'], ['corral.example']])('answers any Host by default when bound to %s', (bind) => {
    expect(hostPolicyOf(bind, []).any).toBe(true);
  });

  it('answers only the configured names, on the configured port when one is given; * means any', () => {
    const policy = hostPolicyOf('0.0.0.0', ['corral.example', 'lb.example:443', '10.0.0.5', '::1', '[fe80::1]:80']);
    expect(hostAllowed(policy, 'corral.example:8181')).toBe(true);
    expect(hostAllowed(policy, 'CORRAL.example')).toBe(true);
    expect(hostAllowed(policy, 'lb.example:443')).toBe(true);
    expect(hostAllowed(policy, 'lb.example')).toBe(false);
    expect(hostAllowed(policy, 'lb.example:444')).toBe(false);
    expect(hostAllowed(policy, '10.0.0.5:1')).toBe(true);
    expect(hostAllowed(policy, '[::1]:8181')).toBe(true);
    expect(hostAllowed(policy, '[fe80::1]:80')).toBe(true);
    expect(hostAllowed(policy, 'localhost')).toBe(false);
    expect(hostPolicyOf('127.0.0.1', ['*']).any).toBe(true);
  });

  it('says which Host it refused, as NOAUTH', () => {
    expect(hostRefusal(hostPolicyOf('127.0.0.1', []), 'evil.example')).toMatchObject({ code: 'NOAUTH', message: expect.stringContaining('"evil.example"') });
  });

  it('reads names and ports, and refuses entries that name no host', () => {
    expect(splitHost('[::1]:80')).toEqual({ name: '[::1]', port: '80' });
    expect(splitHost('Corral_1:8181')).toEqual({ name: 'corral_1', port: '8181' });
    for (const bad of ['', 'a b', 'http://x', 'x:', 'x:port', '[::1', 'a/b', 'x,y']) expect(() => checkAllowedHost(bad)).toThrow(/--allowed-hosts/);
    expect(() => checkAllowedHost('*')).not.toThrow();
  });
});

describe('QueryParams', () => {
  const cases = [
    ['consisten%63y=linearizable', 'consistency', 'linearizable'],
    ['consistency=lineariz%61ble', 'consistency', 'linearizable'],
    ['%63onsistency=%6Cinearizable', 'consistency', 'linearizable'],
    ['a=1&consistency=local&consistency=linearizable', 'consistency', 'local'],
    ['consisten%63y=linearizable&consistency=local', 'consistency', 'linearizable'],
    ['mode=persistent+x', 'mode', 'persistent x'],
    ['mode=%ZZ', 'mode', '%ZZ'],
    ['watch', 'watch', ''],
    ['', 'watch', undefined],
  ] as const;
  it.each(cases)('reads ?%s as %s=%j', (search, name, value) => {
    expect(new QueryParams(search).get(name)).toBe(value);
  });

  it('takes the query of a URL up to a fragment', () => {
    expect(searchOf('http://h/v1/znodes/a?x=1&y=2#frag')).toBe('x=1&y=2');
    expect(searchOf('/v1/znodes/a')).toBe('');
  });
});

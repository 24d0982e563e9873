import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';

describe('--backend zookeeper:// configuration', () => {
  it('takes an ensemble URL with the gateway key from the environment', () => {
    const config = loadConfig(['--backend', 'zookeeper://a:2181,b:2181/corral'], { CORRAL_GATEWAY_KEY: 'k'.repeat(16) });
    expect(config).toMatchObject({ backend: 'zookeeper://a:2181,b:2181/corral', gatewayKey: 'k'.repeat(16) });
  });

  it('takes the gateway\'s ZooKeeper digest identity', () => {
    const config = loadConfig(['--backend', 'zookeeper://a:2181'], { CORRAL_GATEWAY_KEY: 'k'.repeat(16), CORRAL_ZOOKEEPER_AUTH: 'gw:secret' });
    expect(config?.zookeeperAuth).toBe('gw:secret');
  });

  it('takes zookeeper+tls:// and the ZooKeeper TLS files', () => {
    const config = loadConfig(['--backend', 'zookeeper+tls://a:2281', '--zookeeper-tls-ca', '/ca.pem', '--zookeeper-tls-cert', '/gw.pem', '--zookeeper-tls-key', '/gw-key.pem'], { CORRAL_GATEWAY_KEY: 'k'.repeat(16) });
    expect(config).toMatchObject({ backend: 'zookeeper+tls://a:2281', zookeeperTlsCa: '/ca.pem', zookeeperTlsCert: '/gw.pem', zookeeperTlsKey: '/gw-key.pem' });
  });

  it('takes the ensemble\'s jute.maxbuffer, ZooKeeper\'s default 1048575 when not given', () => {
    const env = { CORRAL_GATEWAY_KEY: 'k'.repeat(16) };
    expect(loadConfig(['--backend', 'zookeeper://a:2181'], env)?.zookeeperMaxRequestBytes).toBe(1048575);
    expect(loadConfig(['--backend', 'zookeeper://a:2181', '--zookeeper-max-request-bytes', '4194304'], env)?.zookeeperMaxRequestBytes).toBe(4194304);
    expect(loadConfig(['--backend', 'zookeeper://a:2181'], { ...env, CORRAL_ZOOKEEPER_MAX_REQUEST_BYTES: '2097152' })?.zookeeperMaxRequestBytes).toBe(2097152);
    expect(() => loadConfig(['--backend', 'zookeeper://a:2181', '--zookeeper-max-request-bytes', '10'], env)).toThrow();
  });

  it('keeps a /v1/watch path\'s watch 30 s after its last subscriber unless told otherwise', () => {
    const env = { CORRAL_GATEWAY_KEY: 'k'.repeat(16) };
    expect(loadConfig(['--backend', 'zookeeper://a:2181'], env)?.zookeeperWatchLingerMs).toBe(30_000);
    expect(loadConfig(['--backend', 'zookeeper://a:2181', '--zookeeper-watch-linger-ms', '0'], env)?.zookeeperWatchLingerMs).toBe(0);
    expect(loadConfig(['--backend', 'zookeeper://a:2181'], { ...env, CORRAL_ZOOKEEPER_WATCH_LINGER_MS: '120000' })?.zookeeperWatchLingerMs).toBe(120_000);
    expect(() => loadConfig(['--backend', 'zookeeper://a:2181', '--zookeeper-watch-linger-ms', '-1'], env)).toThrow();
  });

  it('is off (the embedded store) by default', () => {
    expect(loadConfig([], {})?.backend).toBe('');
  });

  it.each([
    [['--backend', 'zk://a:2181'], { CORRAL_GATEWAY_KEY: 'k'.repeat(16) }, /zookeeper:\/\//],
    [['--backend', 'zookeeper://a:2181'], {}, /--gateway-key/],
    [['--backend', 'zookeeper://a:2181', '--gateway-key', 'short'], {}, /at least 16/],
    [['--backend', 'zookeeper://a:2181', '--members', '1=127.0.0.1:8181/127.0.0.1:9181'], { CORRAL_GATEWAY_KEY: 'k'.repeat(16) }, /--members/],
    [['--backend', 'zookeeper://a:2181', '--zookeeper-auth', 'no-password'], { CORRAL_GATEWAY_KEY: 'k'.repeat(16) }, /user:password/],
    [['--backend', 'zookeeper+tls://a:2281', '--zookeeper-tls-cert', '/gw.pem'], { CORRAL_GATEWAY_KEY: 'k'.repeat(16) }, /go together/],
  ] as const)('refuses %j', (argv, env, message) => {
    expect(() => loadConfig([...argv], { ...env })).toThrow(message);
  });
});

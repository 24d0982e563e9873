import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, helpText, loadConfig } from '../../src/config.ts';

describe('configuration', () => {
  it('starts from defaults that need no config: 127.0.0.1:8181, data in ./data', () => {
    const config = loadConfig([], {})!;
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8181, dataDir: './data', maxDataBytes: 1048576, tickTimeMs: 2000 });
    expect(config).toEqual(defaultConfig());
  });

  it('reads environment variables, and flags win over them', () => {
    const env = { CORRAL_PORT: '9000', CORRAL_DATA_DIR: '/tmp/x', CORRAL_CORS_ORIGINS: 'http://a, http://b' };
    expect(loadConfig([], env)).toMatchObject({ port: 9000, dataDir: '/tmp/x', corsOrigins: ['http://a', 'http://b'] });
    expect(loadConfig(['--port', '9100'], env)).toMatchObject({ port: 9100, dataDir: '/tmp/x' });
  });

  it('refuses values that are not non-negative integers, and unknown flags', () => {
    expect(() => loadConfig(['--port', 'eighty'], {})).toThrow(ConfigError);
    expect(() => loadConfig([], { CORRAL_TICK_TIME_MS: '-5' })).toThrow(/CORRAL_TICK_TIME_MS/);
    expect(() => loadConfig(['--nope'], {})).toThrow();
  });

  it('lists every flag with its environment variable in --help', () => {
    const text = helpText();
    for (const flag of ['--port', '--host', '--data-dir', '--max-data-bytes', '--tick-time-ms', '--cors-origins', '--help']) {
      expect(text).toContain(flag);
    }
    expect(text).toContain('CORRAL_PORT');
  });
});

describe('configuration bounds', () => {
  it('refuses 0 where a positive value is needed (tick time, outbox and history bounds)', () => {
    for (const flag of ['--tick-time-ms', '--outbox-events-max', '--history-events-max', '--checkpoint-every-entries']) {
      expect(() => loadConfig([flag, '0'], {}), flag).toThrow(ConfigError);
    }
    expect(loadConfig(['--port', '0'], {})).toMatchObject({ port: 0 });
  });
});

describe('cluster membership', () => {
  const members = '1=127.0.0.1:8001/127.0.0.1:9001,2=127.0.0.1:8002/127.0.0.1:9002,3=127.0.0.1:8003/127.0.0.1:9003';
  const secret = 'a-secret-of-some-length';

  it('is a single node with no --members', () => {
    expect(loadConfig([], {})!.members).toEqual([]);
  });

  it('reads each member\'s id, client address and peer address', () => {
    const config = loadConfig(['--id', '2', '--members', members, '--cluster-secret', secret], {})!;
    expect(config.members).toHaveLength(3);
    expect(config.members[1]).toEqual({ id: 2, client: '127.0.0.1:8002', peer: { host: '127.0.0.1', port: 9002 } });
  });

  it('takes the members and the secret from the environment too', () => {
    const config = loadConfig([], { CORRAL_ID: '3', CORRAL_MEMBERS: members, CORRAL_CLUSTER_SECRET: secret })!;
    expect(config.members.map((m) => m.id)).toEqual([1, 2, 3]);
  });

  it.each([
    ['1=127.0.0.1:8001', 'id=clientHost:port/peerHost:port'],
    ['1=127.0.0.1:8001/127.0.0.1:99999', 'host:port'],
    ['x=127.0.0.1:8001/127.0.0.1:9001', 'id=clientHost:port/peerHost:port'],
    ['1=a:1/b:2,1=c:3/d:4', 'listed twice'],
  ])('refuses a malformed list: %s', (list, message) => {
    expect(() => loadConfig(['--members', list, '--cluster-secret', secret], {})).toThrow(message);
  });

  it('refuses an --id that is not a member', () => {
    expect(() => loadConfig(['--id', '4', '--members', members, '--cluster-secret', secret], {})).toThrow(ConfigError);
  });

  it('refuses a cluster without a secret of at least 16 characters', () => {
    expect(() => loadConfig(['--id', '1', '--members', members], {})).toThrow(/cluster-secret/);
    expect(() => loadConfig(['--id', '1', '--members', members, '--cluster-secret', 'short'], {})).toThrow(/16 characters/);
  });
});

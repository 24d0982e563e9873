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

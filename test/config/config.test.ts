import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

describe('TLS and admin listener options', () => {
  const pair = ['--tls-cert', 'server.pem', '--tls-key', 'server-key.pem'];

  it('serves plain HTTP with no client certificates and no admin listener by default', () => {
    expect(loadConfig([], {})).toMatchObject({ tlsCert: '', tlsKey: '', tlsCa: '', tlsClientAuth: 'none', adminListen: '' });
  });

  it('reads the key pair, CA, client-auth policy and admin address from flags and CORRAL_ variables', () => {
    const env = { CORRAL_TLS_CERT: 'c.pem', CORRAL_TLS_KEY: 'k.pem', CORRAL_TLS_CA: 'ca.pem', CORRAL_TLS_CLIENT_AUTH: 'required', CORRAL_ADMIN_LISTEN: '127.0.0.1:9100' };
    expect(loadConfig([], env)).toMatchObject({ tlsCert: 'c.pem', tlsKey: 'k.pem', tlsCa: 'ca.pem', tlsClientAuth: 'required', adminListen: '127.0.0.1:9100' });
    expect(loadConfig([...pair, '--tls-ca', 'ca.pem', '--tls-client-auth', 'optional'], {})).toMatchObject({ tlsCert: 'server.pem', tlsClientAuth: 'optional' });
  });

  const refusals = [
    { args: ['--tls-cert', 'server.pem'], message: /--tls-cert and --tls-key go together/ },
    { args: ['--tls-key', 'server-key.pem'], message: /--tls-cert and --tls-key go together/ },
    { args: [...pair, '--tls-client-auth', 'sometimes'], message: /none, optional or required/ },
    { args: [...pair, '--tls-client-auth', 'required'], message: /needs --tls-cert, --tls-key and --tls-ca/ },
    { args: [...pair, '--tls-client-auth', 'optional'], message: /needs --tls-cert, --tls-key and --tls-ca/ },
    { args: ['--tls-ca', 'ca.pem'], message: /--tls-ca needs --tls-cert/ },
    { args: ['--admin-listen', '9100'], message: /--admin-listen .* must be host:port/ },
    { args: ['--admin-listen', '127.0.0.1:70000'], message: /--admin-listen .* must be host:port/ },
  ] as const;

  it.each(refusals)('refuses $args', ({ args, message }) => {
    expect(() => loadConfig([...args], {})).toThrow(ConfigError);
    expect(() => loadConfig([...args], {})).toThrow(message);
  });

  it('lists the TLS and admin flags in --help', () => {
    for (const flag of ['--tls-cert', '--tls-key', '--tls-ca', '--tls-client-auth', '--admin-listen', 'CORRAL_ADMIN_LISTEN']) expect(helpText()).toContain(flag);
  });
});

describe('limits per caller and children pages', () => {
  it('limits sessions and streams per caller to 1000, connections per address to 1024, request rates not at all, pages to 10000 names', () => {
    expect(loadConfig([], {})).toMatchObject({
      maxSessionsPerCaller: 1000, maxStreamsPerCaller: 1000, maxConnectionsPerAddress: 1024,
      maxRequestsPerSecondPerCaller: 0, requestBurstPerCaller: 0, maxChildrenPerPage: 10000,
    });
  });

  it('reads each limit from its flag and its CORRAL_ variable, 0 turning a limit off', () => {
    const env = {
      CORRAL_MAX_SESSIONS_PER_CALLER: '5', CORRAL_MAX_STREAMS_PER_CALLER: '6', CORRAL_MAX_CONNECTIONS_PER_ADDRESS: '0',
      CORRAL_MAX_REQUESTS_PER_SECOND_PER_CALLER: '100', CORRAL_REQUEST_BURST_PER_CALLER: '300', CORRAL_MAX_CHILDREN_PER_PAGE: '500',
    };
    expect(loadConfig([], env)).toMatchObject({
      maxSessionsPerCaller: 5, maxStreamsPerCaller: 6, maxConnectionsPerAddress: 0,
      maxRequestsPerSecondPerCaller: 100, requestBurstPerCaller: 300, maxChildrenPerPage: 500,
    });
    expect(loadConfig(['--max-sessions-per-caller', '7', '--max-streams-per-caller', '8', '--max-connections-per-address', '9',
      '--max-requests-per-second-per-caller', '10', '--request-burst-per-caller', '11', '--max-children-per-page', '12'], env)).toMatchObject({
      maxSessionsPerCaller: 7, maxStreamsPerCaller: 8, maxConnectionsPerAddress: 9,
      maxRequestsPerSecondPerCaller: 10, requestBurstPerCaller: 11, maxChildrenPerPage: 12,
    });
  });

  const refusals = [
    ['--max-sessions-per-caller', '-1'], ['--max-connections-per-address', 'many'], ['--max-requests-per-second-per-caller', '1.5'],
    ['--max-children-per-page', '0'],
  ] as const;
  it.each(refusals)('refuses %s %s', (flag, value) => {
    expect(() => loadConfig([`${flag}=${value}`], {})).toThrow(ConfigError);
  });

  it('lists the limit flags in --help', () => {
    for (const flag of ['--max-sessions-per-caller', '--max-streams-per-caller', '--max-connections-per-address',
      '--max-requests-per-second-per-caller', '--request-burst-per-caller', '--max-children-per-page', 'CORRAL_MAX_CONNECTIONS_PER_ADDRESS']) {
      expect(helpText()).toContain(flag);
    }
  });
});

describe('cluster secret and superDigest from files, and the secret\'s strength', () => {
  const members = '1=127.0.0.1:8001/127.0.0.1:9001,2=127.0.0.1:8002/127.0.0.1:9002';
  const strong = 'Jq3x9Vb7Lm2Pz8Rt';
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'corral-secrets-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function secretFile(content: string, mode = 0o600): string {
    const file = join(dir, `secret-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, content, { mode });
    chmodSync(file, mode); // writeFileSync's mode passes through the umask
    return file;
  }

  function load(argv: string[], env: NodeJS.ProcessEnv = {}, warnings: string[] = []) {
    return loadConfig(['--id', '1', '--members', members, ...argv], env, (message) => warnings.push(message))!;
  }

  it('reads --cluster-secret-file without its one trailing newline', () => {
    expect(load(['--cluster-secret-file', secretFile(`${strong}\n`)]).clusterSecret).toBe(strong);
    expect(load(['--cluster-secret-file', secretFile(`${strong}\r\n`)]).clusterSecret).toBe(strong);
    expect(load([], { CORRAL_CLUSTER_SECRET_FILE: secretFile(strong) }).clusterSecret).toBe(strong);
  });

  it.each([['0644', 0o644], ['0640', 0o640], ['0604', 0o604], ['0660', 0o660]])('refuses a secret file of mode %s (open to group or others), as ssh does', (_, mode) => {
    const file = secretFile(strong, mode);
    expect(() => load(['--cluster-secret-file', file])).toThrow(ConfigError);
    expect(() => load(['--cluster-secret-file', file])).toThrow(/open to other users .*chmod 600/);
  });

  it('refuses a missing or empty secret file, and a secret given both ways', () => {
    expect(() => load(['--cluster-secret-file', join(dir, 'absent')])).toThrow(/cannot be read/);
    expect(() => load(['--cluster-secret-file', secretFile('\n')])).toThrow(/is empty/);
    expect(() => load(['--cluster-secret-file', secretFile(strong)], { CORRAL_CLUSTER_SECRET: strong })).toThrow(/not both/);
  });

  it.each([
    ['fewer than 16 characters', 'Jq3x9Vb7Lm2Pz8R'],
    ['one character repeated', 'a'.repeat(40)],
    ['fewer than 8 different characters', 'abcabcabcabcabcabcabc'],
    ['a word repeated', 'secretsecretsecretsecret'],
  ])('refuses a weak cluster secret: %s, suggesting openssl rand', (_, secret) => {
    expect(() => load([], { CORRAL_CLUSTER_SECRET: secret })).toThrow(/too weak.*at least 16 characters, 8 of them different.*openssl rand -base64 32/);
  });

  it('refuses a weak secret from a file too', () => {
    expect(() => load(['--cluster-secret-file', secretFile('aaaaaaaabbbbbbbb\n')])).toThrow(/too weak/);
  });

  it('warns that --cluster-secret on the command line is visible in the process list, and not when it comes from the environment', () => {
    const fromArgv: string[] = [];
    expect(load(['--cluster-secret', strong], {}, fromArgv).clusterSecret).toBe(strong);
    expect(fromArgv).toEqual([expect.stringMatching(/visible to every user .*--cluster-secret-file/)]);
    const fromEnv: string[] = [];
    expect(load([], { CORRAL_CLUSTER_SECRET: strong }, fromEnv).clusterSecret).toBe(strong);
    expect(fromEnv).toEqual([]);
  });

  it('reads --super-digest-file under the same rules', () => {
    const superDigest = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';
    expect(loadConfig(['--super-digest-file', secretFile(`${superDigest}\n`)], {})!.superDigest).toBe(superDigest);
    expect(() => loadConfig(['--super-digest-file', secretFile(superDigest, 0o644)], {})).toThrow(/open to other users/);
    expect(() => loadConfig(['--super-digest-file', secretFile('not a digest')], {})).toThrow(/super-digest/);
  });
});

describe('peer link security options', () => {
  const cluster = '1=127.0.0.1:8001/127.0.0.1:9001,2=127.0.0.1:8002/127.0.0.1:9002';
  const tls = ['--peer-tls-cert', 'm1.pem', '--peer-tls-key', 'm1-key.pem', '--peer-tls-ca', 'ca.pem'];

  it('accepts a cluster with peer TLS and no secret', () => {
    const config = loadConfig(['--id', '1', '--members', cluster, ...tls], {})!;
    expect(config).toMatchObject({ clusterSecret: '', peerTlsCert: 'm1.pem', peerTlsKey: 'm1-key.pem', peerTlsCa: 'ca.pem' });
  });

  it('reads the peer TLS files from CORRAL_PEER_TLS_*', () => {
    const env = { CORRAL_PEER_TLS_CERT: 'c.pem', CORRAL_PEER_TLS_KEY: 'k.pem', CORRAL_PEER_TLS_CA: 'a.pem' };
    expect(loadConfig(['--id', '1', '--members', cluster], env)).toMatchObject({ peerTlsCert: 'c.pem', peerTlsKey: 'k.pem', peerTlsCa: 'a.pem' });
  });

  it('accepts both a secret and peer TLS', () => {
    expect(loadConfig(['--id', '1', '--members', cluster, '--cluster-secret', 'sixteen-chars-ok', ...tls], {})!.clusterSecret).toBe('sixteen-chars-ok');
  });

  it('refuses a cluster with neither a secret nor peer TLS, naming both', () => {
    expect(() => loadConfig(['--id', '1', '--members', cluster], {})).toThrow(/--cluster-secret .*--peer-tls-cert/);
  });

  it.each([
    [['--peer-tls-cert', 'm1.pem', '--peer-tls-key', 'm1-key.pem']],
    [['--peer-tls-ca', 'ca.pem']],
  ])('refuses part of the peer TLS options: %j', (partial) => {
    expect(() => loadConfig(['--id', '1', '--members', cluster, ...partial], {})).toThrow(/go together/);
  });

  it('refuses a short secret even with peer TLS', () => {
    expect(() => loadConfig(['--id', '1', '--members', cluster, '--cluster-secret', 'short', ...tls], {})).toThrow(/16 characters/);
  });
});

describe('--allowed-hosts', () => {
  it('defaults to none configured (the node picks by its bound address)', () => {
    expect(loadConfig([], {})!.allowedHosts).toEqual([]);
  });

  it('reads a comma list of names and addresses, ports optional, from the flag or CORRAL_ALLOWED_HOSTS', () => {
    expect(loadConfig(['--allowed-hosts', 'corral.example, 10.0.0.5:8181,[::1]'], {})!.allowedHosts).toEqual(['corral.example', '10.0.0.5:8181', '[::1]']);
    expect(loadConfig([], { CORRAL_ALLOWED_HOSTS: '*' })!.allowedHosts).toEqual(['*']);
  });

  it.each([['http://corral.example'], ['corral.example:port'], ['a b']])('refuses an entry that names no host: %j', (entry) => {
    expect(() => loadConfig(['--allowed-hosts', entry], {})).toThrow(/--allowed-hosts/);
  });
});

describe('observers in --members and --role', () => {
  const secret = 'a-secret-of-some-length';
  const members = '1=127.0.0.1:8001/127.0.0.1:9001,2=127.0.0.1:8002/127.0.0.1:9002,3=127.0.0.1:8003/127.0.0.1:9003,4=127.0.0.1:8004/127.0.0.1:9004/observer';
  const load = (...args: string[]) => loadConfig([...args, '--members', members, '--cluster-secret', secret], {})!;

  it('marks a member listed with /observer as an observer, the others as voters', () => {
    const config = load('--id', '4', '--role', 'observer');
    expect(config.members[3]).toEqual({ id: 4, client: '127.0.0.1:8004', peer: { host: '127.0.0.1', port: 9004 }, observer: true });
    expect(config.members.filter((m) => m.observer).map((m) => m.id)).toEqual([4]);
    expect(config.role).toBe('observer');
  });

  it('takes /participant as the default spelled out', () => {
    const config = loadConfig(['--id', '1', '--members', '1=a:1/b:2/participant,2=c:3/d:4', '--cluster-secret', secret], {})!;
    expect(config.members[0]!.observer).toBeUndefined();
  });

  it('reads --role from CORRAL_ROLE', () => {
    expect(loadConfig([], { CORRAL_ID: '4', CORRAL_ROLE: 'observer', CORRAL_MEMBERS: members, CORRAL_CLUSTER_SECRET: secret })!.role).toBe('observer');
  });

  it.each([
    [['--id', '4'], /--role is participant but --members lists member 4 as an observer/],
    [['--id', '1', '--role', 'observer'], /--role is observer but --members lists member 1 as a participant/],
    [['--id', '1', '--role', 'voter'], /participant or observer/],
  ])('refuses at start a --role that disagrees with --members (%j)', (args, message) => {
    expect(() => load(...args)).toThrow(message);
  });

  it('refuses --role observer on a single node', () => {
    expect(() => loadConfig(['--role', 'observer'], {})).toThrow(/--role observer needs --members/);
  });

  it('refuses a cluster of observers only', () => {
    expect(() => loadConfig(['--id', '1', '--role', 'observer', '--members', '1=a:1/b:2/observer', '--cluster-secret', secret], {})).toThrow(/at least one member must vote/);
  });

  it('refuses an unknown role suffix', () => {
    expect(() => loadConfig(['--members', '1=a:1/b:2/witness', '--cluster-secret', secret], {})).toThrow(ConfigError);
  });
});

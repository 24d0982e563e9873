import { describe, expect, it } from 'vitest';
import { zkError } from '../../../src/core/errors.ts';
import { corralSessionId, createdStat, statOf } from '../../../src/backend/zookeeper/convert.ts';
import { EventDater, type DatedGroup } from '../../../src/backend/zookeeper/event-dating.ts';
import { openToken, sealToken, tokenKeyOf } from '../../../src/backend/zookeeper/session-token.ts';
import { parseZooKeeperUrl } from '../../../src/backend/zookeeper/zookeeper-url.ts';
import { ZERO_STAT, type WatcherEvent } from '../../../src/zookeeper-client/records.ts';

describe('parseZooKeeperUrl', () => {
  it('reads servers (port 2181 by default) and a chroot', () => {
    expect(parseZooKeeperUrl('zookeeper://a:2181,b,[::1]:2182/apps/corral/')).toEqual({
      servers: [{ host: 'a', port: 2181 }, { host: 'b', port: 2181 }, { host: '::1', port: 2182 }], chroot: '/apps/corral', tls: false,
    });
  });

  it('reads zookeeper+tls:// as an ensemble reached over TLS', () => {
    expect(parseZooKeeperUrl('zookeeper+tls://a:2281,b:2281')).toEqual({ servers: [{ host: 'a', port: 2281 }, { host: 'b', port: 2281 }], chroot: '', tls: true });
  });

  it.each(['http://a:2181', 'zookeeper://', 'zookeeper+tls://', 'zookeeper+ssl://a:1', 'zookeeper://a:99999', 'zookeeper://a:1//x', 'zookeeper://a b:1'])('refuses %s with a message', (raw) => {
    expect(typeof parseZooKeeperUrl(raw)).toBe('string');
  });
});

describe('session tokens', () => {
  const key = tokenKeyOf('a-shared-gateway-key');
  const payload = { sessionId: -0x7eadbeef12345678n, password: new Uint8Array([1, 2, 3, 4]), identities: ['digest:bob:x'], timeoutMs: 12_000,
    auth: [{ scheme: 'digest', credential: Buffer.from('bob:secret') }], from: ['ip:10.0.0.7'] };

  it('opens what it sealed, full 64-bit session ids, the opener\'s credential and address included', () => {
    expect(openToken(key, sealToken(key, payload))).toEqual({ ...payload, password: Buffer.from(payload.password) });
    const { from: _from, ...older } = payload;
    expect(openToken(key, sealToken(key, older))).toEqual({ ...older, password: Buffer.from(payload.password), from: [] });
  });

  it('never shows the opener\'s credential in the token text', () => {
    const token = sealToken(key, payload);
    expect(Buffer.from(token, 'base64url').includes('bob:secret')).toBe(false);
    expect(Buffer.from(token, 'base64url').includes(Buffer.from('bob:secret').toString('base64'))).toBe(false);
  });

  it('seals the same payload differently each time (a fresh IV)', () => {
    expect(sealToken(key, payload)).not.toBe(sealToken(key, payload));
  });

  it('refuses a token with any byte changed, sealed with another key, or garbage', () => {
    const token = sealToken(key, payload);
    for (let i = 0; i < token.length; i += 7) {
      const c = token[i] === 'A' ? 'B' : 'A';
      expect(openToken(key, token.slice(0, i) + c + token.slice(i + 1))).toBeUndefined();
    }
    expect(openToken(tokenKeyOf('another-gateway-key!'), token)).toBeUndefined();
    expect(openToken(key, 'not a token')).toBeUndefined();
    expect(openToken(key, '')).toBeUndefined();
  });
});

describe('convert', () => {
  it('maps a 64-bit ZooKeeper session id to 53 bits: its server byte above its low 45 bits; Stats to numbers', () => {
    const id = (5n << 56n) | 0x1234n;
    expect(corralSessionId(id)).toBe(5 * 2 ** 45 + 0x1234);
    expect(statOf({ ...ZERO_STAT, czxid: 0x1_0000_0002n, ephemeralOwner: id }).ephemeralOwner).toBe(5 * 2 ** 45 + 0x1234);
    expect(corralSessionId(-1n)).toBe(2 ** 53 - 1); // server 255, every low bit set: still a safe integer
  });

  it('gives different ids to sessions of servers that started tracking in the same millisecond', () => {
    // ZooKeeper: (server id << 56) | (start ms, low 40 bits) << 16, plus a counter; an ensemble's servers often share the ms.
    const startMs = 0x0193_8a5c_1234n & ((1n << 40n) - 1n);
    const ids = [1n, 2n, 3n].map((server) => corralSessionId((server << 56n) | (startMs << 16n) | 7n));
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(Number.isSafeInteger(id)).toBe(true);
    expect(statOf({ ...ZERO_STAT, czxid: 0x1_0000_0002n }).czxid).toBe(0x1_0000_0002);
  });

  it('builds the Stat of a node a multi just created', () => {
    expect(createdStat(9, new Uint8Array(3), 0, 1000)).toEqual({
      czxid: 9, mzxid: 9, pzxid: 9, ctime: 1000, mtime: 1000, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0, dataLength: 3, numChildren: 0,
    });
  });
});

describe('EventDater', () => {
  const event = (path: string): WatcherEvent => ({ type: 'NodeDataChanged', state: 3, path });

  it('dates the notifications read before a probe\'s reply with its zxid, later ones with the next', async () => {
    const groups: DatedGroup[] = [];
    const probes: Array<(answer: { zxid: bigint; seq: number }) => void> = [];
    const dater = new EventDater(() => new Promise((resolve) => probes.push(resolve)), (g) => groups.push(g), () => 0);
    dater.add(event('/a'), -1n, 1);
    dater.add(event('/b'), -1n, 2);
    dater.add(event('/c'), -1n, 4); // read after the probe's reply (frame 3)
    probes.shift()!({ zxid: 10n, seq: 3 });
    await expect.poll(() => probes.length).toBe(1);
    probes.shift()!({ zxid: 12n, seq: 5 });
    await expect.poll(() => groups.length).toBe(2);
    expect(groups).toEqual([{ zxid: 10, events: [event('/a'), event('/b')] }, { zxid: 12, events: [event('/c')] }]);
  });

  it('uses a notification\'s own zxid when the server sends one, and never goes back', async () => {
    const groups: DatedGroup[] = [];
    const dater = new EventDater(async () => ({ zxid: 20n, seq: 9 }), (g) => groups.push(g), () => 0);
    dater.add(event('/a'), 15n, 1);
    dater.add(event('/b'), 15n, 2);
    dater.add(event('/c'), 17n, 3);
    await expect.poll(() => groups.length).toBe(2);
    expect(groups.map((g) => [g.zxid, g.events.length])).toEqual([[15, 2], [17, 1]]);
  });

  it('falls back to the newest known zxid when the probe fails', async () => {
    const groups: DatedGroup[] = [];
    const dater = new EventDater(async () => zkError('CONNECTIONLOSS', 'gone'), (g) => groups.push(g), () => 33);
    dater.add(event('/a'), -1n, 1);
    await expect.poll(() => groups.length).toBe(1);
    expect(groups[0]!.zxid).toBe(33);
  });
});

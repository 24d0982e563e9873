/**
 * MemberDirectory: the node's links follow the configuration in force — a member added is dialed
 * at the peer address its change entry carries, a removed one dropped only after a grace (its
 * removal must reach it first), a member that comes back before then kept; addresses come from the
 * configuration, else from --members.
 */
import { describe, expect, it } from 'vitest';
import { defaultConfig, parseMembers } from '../../src/config.ts';
import { clusterConfig } from '../../src/core/consensus/cluster-config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { MemberDirectory, parseHostPort, REMOVAL_GRACE_TICKS } from '../../src/node/member-directory.ts';

function directory() {
  const calls: string[] = [];
  const config = defaultConfig({ id: 1, members: parseMembers('1=127.0.0.1:8181/127.0.0.1:9181,2=127.0.0.1:8182/127.0.0.1:9182,3=127.0.0.1:8183/127.0.0.1:9183') });
  const dir = new MemberDirectory(config, {
    addPeer: (id, peer) => calls.push(`add ${id} ${peer.host}:${peer.port}`),
    removePeer: (id) => calls.push(`remove ${id}`),
  }, createLogger('silent'));
  return { dir, calls };
}

const ADDRESS_4 = { 4: { client: '127.0.0.1:8184', peer: '127.0.0.1:9184' } };

describe('MemberDirectory', () => {
  it('dials a member added with its address, once', () => {
    const { dir, calls } = directory();
    dir.update(clusterConfig([1, 2, 3], [4], ADDRESS_4));
    dir.update(clusterConfig([1, 2, 3, 4], [], ADDRESS_4));
    expect(calls).toEqual(['add 4 127.0.0.1:9184']);
    expect(dir.addressOf(4)).toEqual(ADDRESS_4[4]);
    expect(dir.addressOf(2)).toEqual({ client: '127.0.0.1:8182', peer: '127.0.0.1:9182' });
  });

  it('drops a removed member only after the grace, and keeps one that comes back meanwhile', () => {
    const { dir, calls } = directory();
    dir.update(clusterConfig([1, 2]));
    for (let i = 0; i < REMOVAL_GRACE_TICKS - 1; i++) dir.tick();
    expect(calls).toEqual([]);
    dir.tick();
    expect(calls).toEqual(['remove 3']);
    dir.update(clusterConfig([1]));
    dir.update(clusterConfig([1, 2]));
    for (let i = 0; i < 2 * REMOVAL_GRACE_TICKS; i++) dir.tick();
    expect(calls).toEqual(['remove 3']);
  });

  it('does not dial a member whose configuration carries no peer address', () => {
    const { dir, calls } = directory();
    dir.update(clusterConfig([1, 2, 3], [9]));
    expect(calls).toEqual([]);
  });

  it.each([
    ['127.0.0.1:9181', { host: '127.0.0.1', port: 9181 }],
    ['[::1]:9181', { host: '::1', port: 9181 }],
    ['corral-2.corral:9181', { host: 'corral-2.corral', port: 9181 }],
    ['127.0.0.1', undefined],
    ['127.0.0.1:0', undefined],
    ['127.0.0.1:70000', undefined],
    ['a b:1', undefined],
  ])('parses %s as host:port', (text, expected) => {
    expect(parseHostPort(text)).toEqual(expected);
  });
});

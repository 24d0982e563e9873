/**
 * A checkpoint's configuration comes from another member's port: the exchange hands the core only
 * a well-formed one (rebuilt from checked parts), and drops a MsgSnap whose configuration is not.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterConfig } from '../../src/core/consensus/cluster-config.ts';
import type { RaftMessage, SnapshotRequest } from '../../src/core/consensus/messages.ts';
import type { Consensus } from '../../src/core/consensus/types.ts';
import { CheckpointExchange, configFromPeer, PEER_CONFIG_MEMBERS_MAX } from '../../src/node/checkpoint-exchange.ts';
import type { CheckpointImage, CheckpointSource } from '../../src/node/checkpoints.ts';
import { createLogger } from '../../src/observability/logger.ts';

const IMAGE: CheckpointImage = { index: 9, term: 2, zxid: 2 * 2 ** 32 + 9, nodes: [], sessions: [], watches: [], requests: [] };
const ADDRESS = { client: '127.0.0.1:2181', peer: '127.0.0.1:2888' };
const GOOD = { voters: [1, 2, 3], learners: [4], addresses: { 1: ADDRESS, 4: { client: '[::1]:2181', peer: 'node-4.example:2888' } } };

const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** A core that records what it was stepped and takes every checkpoint. */
function recordingCore() {
  const stepped: RaftMessage[] = [];
  let pending = 0;
  const consensus = {
    step(message: RaftMessage) {
      stepped.push(message);
      if (message.type === 'MsgSnap') pending = message.snapshotIndex;
    },
    status: () => ({ pendingSnapshot: pending }),
  } as unknown as Consensus;
  return { consensus, stepped };
}

function exchange() {
  const installed: Array<ClusterConfig | undefined> = [];
  const source: CheckpointSource = { load: () => undefined, install: (_image, config) => installed.push(config) };
  return { exchange: new CheckpointExchange(source, createLogger('silent')), installed };
}

const snap = (config: unknown): SnapshotRequest =>
  ({ type: 'MsgSnap', from: 1, to: 2, term: 2, snapshotIndex: 9, snapshotTerm: 2, checkpoint: IMAGE, config }) as SnapshotRequest;

describe('configFromPeer', () => {
  const malformed = [
    ['not an object', 'voters 1,2,3'],
    ['null', null],
    ['no voters', { voters: [], learners: [], addresses: {} }],
    ['voters not a list', { voters: 1, learners: [], addresses: {} }],
    ['no learners list', { voters: [1], addresses: {} }],
    ['a zero id', { voters: [0, 1], learners: [], addresses: {} }],
    ['a negative id', { voters: [1], learners: [-2], addresses: {} }],
    ['a fractional id', { voters: [1.5], learners: [], addresses: {} }],
    ['an id as a string', { voters: ['1'], learners: [], addresses: {} }],
    ['an unsafe integer id', { voters: [2 ** 60], learners: [], addresses: {} }],
    ['a voter twice', { voters: [1, 1], learners: [], addresses: {} }],
    ['a member both voter and learner', { voters: [1, 2], learners: [2], addresses: {} }],
    ['too many members', { voters: ids(PEER_CONFIG_MEMBERS_MAX + 1), learners: [], addresses: {} }],
    ['addresses not an object', { voters: [1], learners: [], addresses: 'x' }],
    ['no addresses at all', { voters: [1], learners: [] }],
    ['an address of a non-member', { voters: [1], learners: [], addresses: { 5: ADDRESS } }],
    ['an address keyed by a non-id', { voters: [1], learners: [], addresses: { '01': ADDRESS } }],
    ['a client that is no host:port', { voters: [1], learners: [], addresses: { 1: { client: 'nowhere', peer: ADDRESS.peer } } }],
    ['a peer port out of range', { voters: [1], learners: [], addresses: { 1: { client: ADDRESS.client, peer: '127.0.0.1:70000' } } }],
    ['a peer address with spaces around', { voters: [1], learners: [], addresses: { 1: { client: ADDRESS.client, peer: ' 127.0.0.1:2888' } } }],
    ['an address thousands of characters long', { voters: [1], learners: [], addresses: { 1: { client: `${'a'.repeat(5000)}:1`, peer: ADDRESS.peer } } }],
    ['an address missing its peer', { voters: [1], learners: [], addresses: { 1: { client: ADDRESS.client } } }],
  ] as const;
  it.each(malformed)('refuses a configuration with %s', (_what, raw) => {
    expect(configFromPeer(raw)).toBeUndefined();
  });

  it('rebuilds a well-formed configuration, dropping fields it does not know', () => {
    const config = configFromPeer({ ...GOOD, extra: 'x', addresses: { 1: { ...ADDRESS, extra: 1 }, 4: GOOD.addresses[4] } });
    expect(config).toEqual(GOOD);
    expect(Object.keys(config!.addresses[1]!)).toEqual(['client', 'peer']);
  });

  it('accepts the largest configuration allowed', () => {
    expect(configFromPeer({ voters: ids(PEER_CONFIG_MEMBERS_MAX), learners: [], addresses: {} })?.voters).toHaveLength(PEER_CONFIG_MEMBERS_MAX);
  });
});

describe('CheckpointExchange.receive', () => {
  it('drops a MsgSnap whose configuration is malformed: the core never sees it and nothing is stored', () => {
    const core = recordingCore();
    const { exchange: ex } = exchange();
    ex.receive(snap({ voters: [1, 1], learners: [], addresses: {} }), core.consensus);
    ex.receive(snap({ voters: [], learners: [2], addresses: {} }), core.consensus);
    expect(core.stepped).toEqual([]);
    expect(() => ex.install(9)).toThrow(/none came/);
  });

  it('steps a MsgSnap with the checked configuration and stores that one', () => {
    const core = recordingCore();
    const { exchange: ex, installed } = exchange();
    ex.receive(snap({ ...GOOD, extra: 'x' }), core.consensus);
    expect(core.stepped).toHaveLength(1);
    expect((core.stepped[0] as SnapshotRequest).config).toEqual(GOOD);
    ex.install(9);
    expect(installed).toEqual([GOOD]);
  });

  it('steps a MsgSnap without a configuration (a leader of a version before membership changes)', () => {
    const core = recordingCore();
    const { exchange: ex, installed } = exchange();
    const message = snap(undefined);
    delete (message as { config?: unknown }).config;
    ex.receive(message, core.consensus);
    expect(core.stepped).toEqual([message]);
    ex.install(9);
    expect(installed).toEqual([undefined]);
  });
});

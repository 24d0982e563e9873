// The session oracle's suite: seeded random sequences of 2–3 client sessions creating (persistent,
// ephemeral, and both sequential modes), changing, deleting, reading with watches and closing, run
// against real ZooKeeper 3.8 (one node-zookeeper-client connection per session) and against a
// Corral (one HTTP session + SSE event stream per session): the embedded store
// (sessions.e2e.test.ts) or a gateway over another ZooKeeper (test/backend/zookeeper/
// sessions*.gateway.e2e.test.ts). Results must match (codes, sequential names, Stats without
// zxids, ephemeralOwner as "owned by session k"), and after every op each session must have
// received the same watch events (type, path, order; the events of a close as a multiset, see
// session-runner.ts). Replay a failure with SESSIONS_SEED=<seed> SESSIONS_RUNS=1 [SESSIONS_OPS=<n>].
// Needs Debian's `zookeeper` package: without it this test fails (never skips).
import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralDriver } from './corral-driver.ts';
import { CorralSessionSide } from './corral-session-driver.ts';
import { generateSessionOps, type SessionOp, type SessionSide } from './session-ops.ts';
import { formatSessionMismatch, SessionPairRunner, type SessionMismatch } from './session-runner.ts';
import { ZkDriver } from './zk-driver.ts';
import { ZkSessionSide } from './zk-session-driver.ts';
import { intEnv } from '../support/int-env.ts';
import { startZooKeeper, zooKeeperMissing, type ZooKeeperHandle } from './zookeeper-server.ts';


const MISMATCHES_SHOWN = 3;

/** The Corral side of the comparison; close() stops it and everything it needed. */
export interface CorralUnderTest {
  readonly url: string;
  close(): Promise<unknown>;
}

export interface SessionsTarget {
  /** Shown in the suite's title. */
  readonly name: string;
  /** The test file, for the replay line of a mismatch. */
  readonly file: string;
  /** Random sequences when SESSIONS_RUNS is not set. */
  readonly defaultRuns: number;
  /** Starts the Corral side on 127.0.0.1. */
  start(): Promise<CorralUnderTest>;
  /**
   * Nodes the Corral side keeps for itself in the tree (a gateway's `/.corral-gateway`, see
   * docs/operations.md): made on both sides before the runs, so listings and Stats of `/` compare.
   */
  readonly ownNodes: readonly string[];
}

/** Creates `paths` (persistent, empty) on both sides, or fails with the side that refused. */
async function makeOwnNodes(zkPort: number, corralUrl: string, paths: readonly string[]): Promise<void> {
  const zk = await ZkDriver.open(zkPort);
  try {
    for (const path of paths) {
      const op = { op: 'create', path, data: '', mode: 'persistent' } as const;
      for (const [side, out] of [['ZooKeeper', await zk.run(op)], ['Corral', await new CorralDriver(corralUrl).run(op)]] as const) {
        if (!out.ok && out.code !== 'NODEEXISTS') throw new Error(`${side} refused to create ${path}: ${JSON.stringify(out)}`);
      }
    }
  } finally {
    await zk.close();
  }
}


export function sessionsSuite(target: SessionsTarget): void {
  const BASE_SEED = intEnv('SESSIONS_SEED', randomInt(0, 2 ** 32 - 1)) >>> 0;
  const RUNS = Math.min(intEnv('SESSIONS_RUNS', target.defaultRuns), 10_000);
  const OPS = Math.min(intEnv('SESSIONS_OPS', 40), 100_000);
  const SEQUENCES_TIMEOUT_MS = 60_000 + RUNS * OPS * 100;
  const formatted = (m: SessionMismatch): string => formatSessionMismatch(m, 25, target.file);

  describe(`oracle: sessions, ephemerals and watches of Corral (${target.name}) match ZooKeeper 3.8`, () => {
    let zkServer: ZooKeeperHandle | undefined;
    let corralServer: CorralUnderTest | undefined;
    const sides = new Set<SessionSide>(); // every side a test opened, shut down again in afterAll
    const missing = zooKeeperMissing();

    beforeAll(async () => {
      if (missing !== '') return; // each test fails with the reason
      console.info(`sessions oracle (${target.name}): base seed ${BASE_SEED}, ${RUNS} runs (replay with SESSIONS_SEED=${BASE_SEED})`);
      zkServer = await startZooKeeper({ startTimeoutMs: 30_000 });
      corralServer = await target.start();
      await makeOwnNodes(zkServer.port, corralServer.url, target.ownNodes);
    }, 60_000);

    afterAll(async () => {
      const errors: unknown[] = [];
      const cleanups = [
        ...[...sides].map((side) => () => side.shutdown()),
        () => zkServer?.stop(), () => corralServer?.close(),
      ];
      for (const cleanup of cleanups) {
        try { await cleanup(); } catch (err) { errors.push(err); }
      }
      if (errors.length > 0) throw errors[0];
    }, 30_000);

    /** Runs `ops` on fresh sides (new sessions), then closes them. */
    async function run(seed: number | string, ops: readonly SessionOp[]): Promise<SessionMismatch | null> {
      if (missing !== '') throw new Error(missing);
      if (zkServer === undefined || corralServer === undefined) throw new Error('setup failed: see beforeAll');
      const zk = new ZkSessionSide(zkServer.port);
      const corral = new CorralSessionSide(corralServer.url);
      sides.add(zk);
      sides.add(corral);
      try {
        return await new SessionPairRunner(zk, corral, seed).runOps(ops);
      } finally {
        await Promise.all([zk.shutdown(), corral.shutdown()]);
        sides.delete(zk);
        sides.delete(corral);
      }
    }

    it(`gives ${RUNS} random session sequences of ${OPS} ops the same results and events (base seed ${BASE_SEED})`, async () => {
      const mismatches: SessionMismatch[] = [];
      for (let i = 0; i < RUNS; i++) {
        const seed = (BASE_SEED + i) >>> 0;
        const mismatch = await run(seed, generateSessionOps(seed, OPS));
        if (mismatch !== null) mismatches.push(mismatch);
      }
      if (mismatches.length === 0) return;
      const shown = mismatches.slice(0, MISMATCHES_SHOWN).map(formatted).join('\n\n');
      const rest = mismatches.slice(MISMATCHES_SHOWN).map((m) => `seed ${m.seed} op #${m.opIndex} ${m.op.op}: ${m.note.slice(0, 160)}`);
      expect.fail(`Corral (${target.name}) differs from ZooKeeper in ${mismatches.length} of ${RUNS} runs (base seed ${BASE_SEED}, ${OPS} ops each)\n\n` +
        `${shown}${rest.length > 0 ? `\n\nother runs:\n${rest.join('\n')}` : ''}`);
    }, SEQUENCES_TIMEOUT_MS);

    it('tells watchers of a closed session\'s ephemerals and their parents, the closing session included', async () => {
      const r = `/session-close-${BASE_SEED}`;
      const ops: SessionOp[] = [
        { op: 'open', s: 0 }, { op: 'open', s: 1 }, { op: 'open', s: 2 },
        { op: 'create', s: 0, path: r, data: '', mode: 'persistent' },
        { op: 'create', s: 0, path: `${r}/p`, data: '', mode: 'persistent' },
        { op: 'create', s: 1, path: `${r}/p/e1`, data: 'eA==', mode: 'ephemeral' },
        { op: 'create', s: 1, path: `${r}/p/e2`, data: '', mode: 'ephemeral' },
        { op: 'create', s: 1, path: `${r}/q-`, data: '', mode: 'ephemeral_sequential' },
        { op: 'create', s: 1, path: `${r}/p/e1/kid`, data: '', mode: 'persistent' }, // NOCHILDRENFOREPHEMERALS
        { op: 'getData', s: 0, path: `${r}/p/e1`, watch: true },
        { op: 'exists', s: 0, path: `${r}/p/e2`, watch: true },
        { op: 'getChildren', s: 0, path: `${r}/p`, watch: true },
        { op: 'getChildren', s: 2, path: r, watch: true },
        { op: 'exists', s: 2, path: `${r}/q-0000000001`, watch: true },
        { op: 'getChildren', s: 2, path: `${r}/p/e2`, watch: true },
        { op: 'exists', s: 2, path: `${r}/p/e3`, watch: true }, // missing: fires on creation
        { op: 'getData', s: 1, path: `${r}/p/e1`, watch: true }, // the closing session watches its own node
        { op: 'getChildren', s: 1, path: `${r}/p`, watch: true },
        { op: 'exists', s: 0, path: `${r}/p/e1`, watch: true }, // s0's data watch again: still one event
        { op: 'close', s: 1 },
        { op: 'create', s: 1, path: `${r}/p/e3`, data: '', mode: 'ephemeral' }, // closed: SESSIONEXPIRED
        { op: 'getData', s: 1, path: `${r}/p`, watch: true },
        { op: 'getChildren', s: 0, path: `${r}/p`, watch: false },
        { op: 'create', s: 2, path: `${r}/p/e3`, data: '', mode: 'ephemeral_sequential' },
        { op: 'create', s: 2, path: `${r}/p/e3`, data: '', mode: 'ephemeral' },
        { op: 'exists', s: 0, path: `${r}/p/e3`, watch: false },
        { op: 'getData', s: 0, path: `${r}/p/e3`, watch: true }, // a data and a child watch of one
        { op: 'getChildren', s: 0, path: `${r}/p/e3`, watch: true }, // session: one NodeDeleted
        { op: 'exists', s: 0, path: `${r}/p/e30000000002`, watch: true },
        { op: 'getChildren', s: 0, path: `${r}/p/e30000000002`, watch: true },
        { op: 'delete', s: 0, path: `${r}/p/e30000000002`, version: -1 }, // another session's ephemeral
        { op: 'getChildren', s: 0, path: `${r}/p`, watch: true },
        { op: 'close', s: 2 },
        { op: 'getChildren', s: 0, path: `${r}/p`, watch: true },
      ];
      const mismatch = await run('scripted close', ops);
      if (mismatch !== null) expect.fail(`Corral (${target.name}) differs from ZooKeeper\n${formatted(mismatch)}`);
    }, 60_000);
  });
}

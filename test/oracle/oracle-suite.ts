// The oracle's differential suite: seeded random op sequences run against real ZooKeeper 3.8 and
// against a Corral (over HTTP); results, error codes and Stats must match, zxids compared by order.
// Which Corral is the target's: the embedded store (oracle.e2e.test.ts) or a gateway over a second
// ZooKeeper (test/backend/zookeeper/oracle*.gateway.e2e.test.ts).
// Replay a failure with ORACLE_SEED=<seed> ORACLE_RUNS=1 [ORACLE_OPS=<n>]. Needs Debian's
// `zookeeper` package: without it this test fails (never skips), in CI and locally.
// ZooKeeper drive: our own jute client (zk-wire.ts), so containers and TTL nodes are created with
// their real opcodes and reaped by the real ContainerManager (interval shortened to 100 ms).
import { randomInt } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorralDriver } from './corral-driver.ts';
import { show } from './compare.ts';
import type { Op, Stat } from './ops.ts';
import { formatMismatch, PairRunner, runSeed, type Allowances, type Mismatch, type Step } from './runner.ts';
import { ZkDriver } from './zk-driver.ts';
import { intEnv } from '../support/int-env.ts';
import { startZooKeeper, zooKeeperMissing, type ZooKeeperHandle } from './zookeeper-server.ts';


const MISMATCHES_SHOWN = 4;

/** ZooKeeper's ContainerManager every 100 ms, so reaping is quick enough to compare op by op. */
export const CONTAINER_REAPING: Readonly<Record<string, string>> = {
  'znode.container.checkIntervalMs': '100', 'znode.container.maxPerMinute': '10000',
};

/** The Corral side of the comparison; close() stops it and everything it needed. */
export interface CorralUnderTest {
  readonly url: string;
  close(): Promise<unknown>;
}

export interface OracleTarget {
  /** Shown in the suite's title. */
  readonly name: string;
  /** The test file, for the replay line of a mismatch. */
  readonly file: string;
  /** Random sequences when ORACLE_RUNS is not set. */
  readonly defaultRuns: number;
  /** Starts the Corral side on 127.0.0.1, reaping containers and TTL nodes every `reapIntervalMs`. */
  start(options: { reapIntervalMs: number }): Promise<CorralUnderTest>;
  /** Documented differences from ZooKeeper this Corral side has (runner.ts). */
  readonly allowances: Allowances;
}


export function oracleSuite(target: OracleTarget): void {
  const BASE_SEED = intEnv('ORACLE_SEED', randomInt(0, 2 ** 32 - 1)) >>> 0;
  const RUNS = Math.min(intEnv('ORACLE_RUNS', target.defaultRuns), 10_000);
  const OPS = Math.min(intEnv('ORACLE_OPS', 60), 100_000);
  // ~8 ms per op on a laptop-class machine (both servers fsync); generous bound, scaled to the runs.
  const SEQUENCES_TIMEOUT_MS = 60_000 + RUNS * OPS * 40;
  const formatted = (m: Mismatch): string => formatMismatch(m, 25, target.file);

  function failOn(mismatch: Mismatch | null): void {
    if (mismatch !== null) expect.fail(`Corral (${target.name}) differs from ZooKeeper\n${formatted(mismatch)}`);
  }

  describe(`oracle: Corral (${target.name}) matches ZooKeeper 3.8`, () => {
    let zkServer: ZooKeeperHandle | undefined;
    let zk: ZkDriver | undefined;
    let corralServer: CorralUnderTest | undefined;
    let corral: CorralDriver;
    const missing = zooKeeperMissing();
    const ready = (): ZkDriver => {
      if (missing !== '') throw new Error(missing);
      if (zk === undefined) throw new Error('setup failed: see beforeAll');
      return zk;
    };

    beforeAll(async () => {
      if (missing !== '') return; // each test fails with the reason
      console.info(`oracle (${target.name}): base seed ${BASE_SEED}, ${RUNS} runs (replay with ORACLE_SEED=${BASE_SEED})`);
      zkServer = await startZooKeeper({ startTimeoutMs: 30_000, systemProperties: { ...CONTAINER_REAPING } });
      zk = await ZkDriver.open(zkServer.port);
      corralServer = await target.start({ reapIntervalMs: 100 });
      corral = new CorralDriver(corralServer.url);
    }, 60_000);

    afterAll(async () => {
      const errors: unknown[] = [];
      const cleanups = [
        () => zk?.close(), () => zkServer?.stop(), () => corralServer?.close(),
      ];
      for (const cleanup of cleanups) {
        try { await cleanup(); } catch (err) { errors.push(err); }
      }
      if (errors.length > 0) throw errors[0];
    }, 30_000);

    const pair = (name: string): PairRunner => new PairRunner(ready(), corral, name, target.allowances);

    it(`answers ${RUNS} random sequences of ${OPS} ops with the same results, codes and Stats (base seed ${BASE_SEED})`, async () => {
      const mismatches: Mismatch[] = [];
      for (let i = 0; i < RUNS; i++) {
        const mismatch = await runSeed(ready(), corral, (BASE_SEED + i) >>> 0, OPS, target.allowances);
        if (mismatch !== null) mismatches.push(mismatch);
      }
      if (mismatches.length === 0) return;
      const shown = mismatches.slice(0, MISMATCHES_SHOWN).map(formatted).join('\n\n');
      const rest = mismatches.slice(MISMATCHES_SHOWN)
        .map((m) => `seed ${m.seed} op #${m.opIndex}: ${typeof m.op === 'string' ? m.op : m.op.op} → ZooKeeper ${show(m.zk).slice(0, 80)} / Corral ${show(m.corral).slice(0, 80)}`);
      expect.fail(`Corral (${target.name}) differs from ZooKeeper in ${mismatches.length} of ${RUNS} runs ` +
        `(base seed ${BASE_SEED}, ${OPS} ops each)\n\n${shown}${rest.length > 0 ? `\n\nother runs:\n${rest.join('\n')}` : ''}`);
    }, SEQUENCES_TIMEOUT_MS);

    it('reaps a container once its last child is deleted and keeps a never-used one', async () => {
      const root = `/reap-container-${BASE_SEED}`;
      const steps: Step[] = [
        { op: 'create', path: root, data: '', mode: 'persistent' },
        { op: 'create', path: `${root}/used`, data: '', mode: 'container' },
        { op: 'create', path: `${root}/used/child`, data: 'eA==', mode: 'persistent' },
        { op: 'create', path: `${root}/unused`, data: '', mode: 'container' },
        { op: 'delete', path: `${root}/used/child`, version: -1 },
        { waitGone: `${root}/used` },
        { op: 'exists', path: `${root}/unused` },
        { op: 'getChildren', path: root },
      ];
      failOn(await pair('container reaping').runSteps(steps));
    }, 60_000);

    it('reaps TTL nodes past their ttl once they have no children', async () => {
      const root = `/reap-ttl-${BASE_SEED}`;
      const ttl = 300;
      const steps: Step[] = [
        { op: 'create', path: root, data: '', mode: 'persistent' },
        { op: 'create', path: `${root}/t1`, data: '', mode: 'persistent_with_ttl', ttl },
        { op: 'create', path: `${root}/t2`, data: '', mode: 'persistent_with_ttl', ttl },
        { op: 'create', path: `${root}/t2/kid`, data: '', mode: 'persistent' },
        { op: 'create', path: `${root}/`, data: '', mode: 'persistent_sequential_with_ttl', ttl },
        { waitGone: `${root}/t1` },
        { waitGone: `${root}/0000000002` },
        { op: 'exists', path: `${root}/t2` },
        { op: 'delete', path: `${root}/t2/kid`, version: -1 },
        { waitGone: `${root}/t2` },
        { op: 'getChildren', path: root },
      ];
      failOn(await pair('TTL reaping').runSteps(steps));
    }, 60_000);

    it('refuses a ttl, even 0, on a create mode without TTL', async () => {
      const root = `/ttl-args-${BASE_SEED}`;
      const steps: Step[] = [
        { op: 'create', path: root, data: '', mode: 'persistent' },
        { op: 'create', path: `${root}/p5`, data: '', mode: 'persistent', ttl: 5 },
        { op: 'create', path: `${root}/p0`, data: '', mode: 'persistent', ttl: 0 },
        { op: 'create', path: `${root}/c0`, data: '', mode: 'container', ttl: 0 },
        { op: 'create', path: `${root}/s-`, data: '', mode: 'persistent_sequential', ttl: 0 },
        { op: 'multi', ops: [{ op: 'create', path: `${root}/m0`, data: '', mode: 'persistent', ttl: 0 }] },
        { op: 'getChildren', path: root },
      ];
      failOn(await pair('ttl arguments').runSteps(steps));
    }, 30_000);

    it('lists children sorted by name, whatever order the server keeps them in', async () => {
      const root = `/sorted-${BASE_SEED}`;
      // In ZooKeeper's own (hash) order these do not come sorted: the contract sorts them.
      const names = ['k', '.x', 'é', 'b', '0000000003', 'a b', 'a', 'A'];
      const steps: Step[] = [
        { op: 'create', path: root, data: '', mode: 'persistent' },
        ...names.map((name): Step => ({ op: 'create', path: `${root}/${name}`, data: '', mode: 'persistent' })),
        { op: 'getChildren', path: root },
      ];
      failOn(await pair('sorted children').runSteps(steps));
    }, 30_000);

    it('guards the /zookeeper system subtree like ZooKeeper', async () => {
      const steps: Step[] = [
        { op: 'getChildren', path: '/zookeeper' },
        { op: 'getData', path: '/zookeeper/quota' },
        { op: 'delete', path: '/', version: -1 },
        { op: 'delete', path: '/zookeeper', version: -1 },
        { op: 'delete', path: '/zookeeper/quota', version: -1 },
        { op: 'delete', path: '/zookeeper/config', version: -1 },
        { op: 'setData', path: '/zookeeper/config', data: 'eA==', version: -1 },
      ];
      failOn(await pair('system subtree').runSteps(steps));
    }, 30_000);

    it('decodes the wire exactly as node-zookeeper-client does (driver self-check)', async () => {
      const root = `/wire-check-${BASE_SEED}`;
      const ops: Op[] = [
        { op: 'create', path: root, data: Buffer.from([0xff, 0, 1]).toString('base64'), mode: 'persistent' },
        { op: 'create', path: `${root}/é x`, data: 'dg==', mode: 'container' },
        { op: 'setData', path: root, data: '', version: 0 },
      ];
      const driver = ready();
      for (const op of ops) expect((await driver.run(op)).ok).toBe(true);
      const client = zookeeper.createClient(`127.0.0.1:${zkServer!.port}`, { sessionTimeout: 10_000, retries: 0 });
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('node-zookeeper-client did not connect in 10 s')), 10_000);
          client.once('connected', () => { clearTimeout(timer); resolve(); });
          client.connect();
        });
        const viaLib = await new Promise<{ data: string; children: string[]; stat: Stat }>((resolve, reject) => {
          client.getData(root, (err, data, stat) => {
            if (err) { reject(err); return; }
            client.getChildren(root, (err2, children) => {
              if (err2) { reject(err2); return; }
              resolve({ data: (data ?? Buffer.alloc(0)).toString('base64'), children: children.sort(), stat: {
                czxid: stat.czxid.readBigInt64BE(), mzxid: stat.mzxid.readBigInt64BE(), pzxid: stat.pzxid.readBigInt64BE(),
                ctime: Number(stat.ctime.readBigInt64BE()), mtime: Number(stat.mtime.readBigInt64BE()),
                version: stat.version, cversion: stat.cversion, aversion: stat.aversion,
                ephemeralOwner: stat.ephemeralOwner.readBigInt64BE().toString(), dataLength: stat.dataLength,
                numChildren: stat.numChildren,
              } });
            });
          });
        });
        const data = await driver.run({ op: 'getData', path: root });
        const children = await driver.run({ op: 'getChildren', path: root });
        expect(show(data)).toBe(show({ ok: true, data: viaLib.data, stat: viaLib.stat }));
        expect(children.ok && children.children).toEqual(viaLib.children);
      } finally {
        client.close();
      }
    }, 30_000);
  });
}

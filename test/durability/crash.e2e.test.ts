/**
 * Crash and damage with real processes: `node --import tsx src/main.ts` on 127.0.0.1, killed with
 * SIGKILL mid-stream, stopped with SIGTERM, and restarted on files altered behind its back. An
 * acknowledged write must survive any crash; a damaged file must be refused, never served wrong.
 */
import Database from 'better-sqlite3';
import { existsSync, openSync, readFileSync, readSync, closeSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  freePort, http, makeTempDir, ProcessPool, readTree, removeDir, waitFor, znodeUrl,
  type CorralProcess, type NodeView,
} from '../support/corral-process.ts';

const CHECKPOINT_ARGS = ['--checkpoint-every-entries', '200'];
const WRITERS = 8;
const ACKS_BEFORE_KILL = 600;

const pool = new ProcessPool();
const dirs: string[] = [];

afterEach(async () => {
  await pool.killAll();
  for (const dir of dirs.splice(0)) removeDir(dir);
});

function tempDir(): string {
  const dir = makeTempDir('corral-crash-');
  dirs.push(dir);
  return dir;
}

async function launch(dir: string): Promise<CorralProcess> {
  const proc = pool.spawn(dir, await freePort(), CHECKPOINT_ARGS);
  await proc.waitHealthy(20_000);
  return proc;
}

interface StartOutcome {
  readonly proc: CorralProcess;
  readonly healthy: boolean;
  readonly code: number | null;
}

/** Starts a process on a possibly damaged dir: it either becomes healthy or exits (bounded). */
async function tryLaunch(dir: string): Promise<StartOutcome> {
  const proc = pool.spawn(dir, await freePort(), CHECKPOINT_ARGS);
  const healthy = await proc.waitHealthy(20_000).then(() => true, () => false);
  if (healthy) return { proc, healthy, code: null };
  return { proc, healthy, code: (await proc.waitExit(10_000)).code };
}

async function stopGracefully(proc: CorralProcess): Promise<void> {
  proc.signal('SIGTERM');
  const exit = await proc.waitExit(15_000);
  expect(exit).toEqual({ code: 0, signal: null });
}

async function mustWrite(method: string, url: string, body: string, status: number): Promise<any> {
  const reply = await http(method, url, body);
  if (reply.status !== status) throw new Error(`${method} ${url}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** Everything a writer sent and what was acknowledged, for checking after a crash. */
interface WriterRecord {
  readonly ackedCreates: Map<string, string>;
  readonly attemptedCreates: Set<string>;
  /** Acknowledged setData values in order, with the version each produced. */
  readonly ackedSets: Array<{ value: string; version: number }>;
  /** The setData whose answer never came (at most one per writer: writers are sequential). */
  unansweredSet: string | undefined;
  readonly unexpected: string[];
}

interface Traffic {
  readonly records: WriterRecord[];
  acked: number;
  inFlight: number;
  stop: boolean;
}

/** Writer `w`: alternately creates /w/<round>-<w>-<n> and sets /c/<w>, until told to stop or the server dies. */
async function runWriter(url: string, round: number, w: number, traffic: Traffic, deadline: number): Promise<void> {
  const record = traffic.records[w]!;
  for (let n = 0; n < 5000 && !traffic.stop && Date.now() < deadline; n++) {
    const value = `r${round}-w${w}-n${n}`;
    const isCreate = n % 2 === 0;
    const path = isCreate ? `/w/${value}` : `/c/${w}`;
    if (isCreate) record.attemptedCreates.add(path);
    else record.unansweredSet = value;
    traffic.inFlight++;
    let reply;
    try {
      reply = await http(isCreate ? 'POST' : 'PUT', znodeUrl(url, '/v1/znodes', path), value);
    } catch {
      return; // the server is gone: this write's outcome is unknown
    } finally {
      traffic.inFlight--;
    }
    if (reply.status === (isCreate ? 201 : 200)) {
      traffic.acked++;
      if (isCreate) record.ackedCreates.set(path, value);
      else {
        record.ackedSets.push({ value, version: reply.body.stat.version });
        record.unansweredSet = undefined;
      }
    } else {
      record.unexpected.push(`${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
      if (!isCreate) record.unansweredSet = undefined;
    }
  }
}

async function logEntries(proc: CorralProcess): Promise<number> {
  const metrics = await http('GET', `${proc.url}/metrics`);
  const line = /^corral_log_entries (\d+)$/m.exec(String(metrics.body));
  expect(line, 'corral_log_entries in /metrics').not.toBeNull();
  return Number(line![1]);
}

function newTraffic(): Traffic {
  const records = Array.from({ length: WRITERS }, (): WriterRecord => ({
    ackedCreates: new Map(), attemptedCreates: new Set(), ackedSets: [], unansweredSet: undefined, unexpected: [],
  }));
  return { records, acked: 0, inFlight: 0, stop: false };
}

/** Runs the writers, SIGKILLs the process once enough writes are acknowledged, and returns what they saw. */
async function writeThenKill(proc: CorralProcess, round: number): Promise<Traffic> {
  const traffic = newTraffic();
  const deadline = Date.now() + 30_000;
  const writers = traffic.records.map((_, w) => runWriter(proc.url, round, w, traffic, deadline));
  try {
    await waitFor(() => traffic.acked >= ACKS_BEFORE_KILL, { timeoutMs: 25_000, what: `${ACKS_BEFORE_KILL} acknowledged writes` });
    expect(traffic.inFlight).toBeGreaterThan(0);
    const exit = await proc.kill();
    expect(exit.signal).toBe('SIGKILL');
  } finally {
    traffic.stop = true;
    await Promise.all(writers);
  }
  for (const record of traffic.records) expect(record.unexpected).toEqual([]);
  return traffic;
}

/** State that must hold from one restart to the next: nodes seen under /w and each counter's (version, data). */
interface Known {
  readonly creates: Map<string, string>;
  readonly counters: Map<number, { version: number; value: string }>;
}

function checkCounter(w: number, record: WriterRecord, node: NodeView | undefined, known: Known): void {
  expect(node, `/c/${w}`).toBeDefined();
  const version = node!.stat.version as number;
  const last = record.ackedSets.at(-1) ?? known.counters.get(w)!;
  expect(version).toBeGreaterThanOrEqual(last.version);
  if (record.unansweredSet !== undefined && node!.data === record.unansweredSet) {
    expect(version).toBe(last.version + 1); // the write in flight at the kill was applied
  } else {
    expect(node!.data).toBe(last.value);
    expect(version).toBe(last.version);
  }
  known.counters.set(w, { version, value: node!.data });
}

/** Checks the restarted tree against what the writers were told, and updates `known`. */
async function verifyAfterCrash(proc: CorralProcess, traffic: Traffic, known: Known): Promise<void> {
  const tree = await readTree(proc.url); // also checks numChildren and that every node's children can be listed
  for (const [path, value] of known.creates) expect(tree.get(path)?.data, path).toBe(value);
  const attempted = new Set(known.creates.keys());
  traffic.records.forEach((record, w) => {
    for (const [path, value] of record.ackedCreates) expect(tree.get(path)?.data, path).toBe(value);
    for (const path of record.attemptedCreates) attempted.add(path);
    checkCounter(w, record, tree.get(`/c/${w}`), known);
  });
  for (const [path, node] of tree) {
    if (!path.startsWith('/w/')) continue;
    expect(attempted.has(path), `${path} was never written`).toBe(true);
    expect(node.data).toBe(path.slice(3));
    known.creates.set(path, node.data);
  }
  expect(tree.get('/w')!.stat.numChildren).toBe(known.creates.size);
}

async function setUpCounters(proc: CorralProcess): Promise<Known> {
  const known: Known = { creates: new Map(), counters: new Map() };
  await mustWrite('POST', znodeUrl(proc.url, '/v1/znodes', '/w'), '', 201);
  await mustWrite('POST', znodeUrl(proc.url, '/v1/znodes', '/c'), '', 201);
  for (let w = 0; w < WRITERS; w++) {
    await mustWrite('POST', znodeUrl(proc.url, '/v1/znodes', `/c/${w}`), 'initial', 201);
    known.counters.set(w, { version: 0, value: 'initial' });
  }
  return known;
}

/** Creates /d and `count` nodes /d/n<i> with the given values, 8 requests at a time. */
async function writeNodes(proc: CorralProcess, count: number, valueOf: (i: number) => string): Promise<void> {
  await mustWrite('POST', znodeUrl(proc.url, '/v1/znodes', '/d'), 'data parent', 201);
  for (let i = 0; i < count; i += 8) {
    const batch = Array.from({ length: Math.min(8, count - i) }, (_, k) => i + k);
    await Promise.all(batch.map((n) => mustWrite('POST', znodeUrl(proc.url, '/v1/znodes', `/d/n${n}`), valueOf(n), 201)));
  }
}

const padded = (i: number) => `value-${i}-${'x'.repeat(200)}`;

/** Rewrites one entry's data inside its log row in place, as disk damage or a stray writer would. */
function corruptOneLogEntry(file: string): number {
  const db = new Database(file);
  try {
    const row = db.prepare(`SELECT first, body FROM log_batches WHERE body LIKE '%"timeMs":%' ORDER BY first LIMIT 1 OFFSET 2`).get() as
      | { first: number; body: string } | undefined;
    expect(row, 'a log row to damage').toBeDefined();
    const altered = row!.body.replace('"timeMs":', '"timeMs":1');
    expect(altered).not.toBe(row!.body);
    expect(db.prepare('UPDATE log_batches SET body = ? WHERE first = ?').run(altered, row!.first).changes).toBe(1);
    return row!.first;
  } finally {
    db.close();
  }
}

/** Folds a leftover WAL into the main file so damage to corral.db is damage to the data. */
function foldWal(file: string): void {
  if (!existsSync(`${file}-wal`) || statSync(`${file}-wal`).size === 0) return;
  const db = new Database(file);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    expect(writeSync(fd, bytes, 0, bytes.length, offset)).toBe(bytes.length);
  } finally {
    closeSync(fd);
  }
}

/** Overwrites the whole page in the middle of the file with garbage; answers its page number. */
function damageMiddlePage(file: string): number {
  const header = Buffer.alloc(100);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  const pages = Math.floor(statSync(file).size / pageSize);
  expect(pages).toBeGreaterThan(8);
  const page = Math.floor(pages / 2);
  overwrite(file, page * pageSize, Buffer.alloc(pageSize, 0xa5));
  return page;
}

/** Flips one byte inside every copy of `marker` in the file; answers how many copies there were. */
function damageEveryCopy(file: string, marker: string): number {
  const bytes = readFileSync(file);
  const needle = Buffer.from(marker);
  let copies = 0;
  for (let at = bytes.indexOf(needle); at !== -1 && copies < 100; at = bytes.indexOf(needle, at + 1)) {
    overwrite(file, at + 2, Buffer.from([bytes[at + 2]! ^ 0x20]));
    copies++;
  }
  return copies;
}

/** A node that took `count` writes and stopped cleanly, its WAL folded into the file: ready to be damaged. */
async function writtenAndStopped(count: number, data: (i: number) => string) {
  const dir = tempDir();
  const file = join(dir, 'corral.db');
  const proc = await launch(dir);
  await writeNodes(proc, count, data);
  const acknowledged = await readTree(proc.url);
  await stopGracefully(proc);
  foldWal(file);
  return { dir, file, acknowledged };
}

/** Overwrites the root page of `table`'s b-tree with garbage. */
function damageTableRoot(file: string, table: string): void {
  const db = new Database(file, { readonly: true });
  let root: number;
  let pageSize: number;
  try {
    root = (db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').get(table) as { rootpage: number }).rootpage;
    pageSize = db.pragma('page_size', { simple: true }) as number;
  } finally {
    db.close();
  }
  overwrite(file, (root - 1) * pageSize, Buffer.alloc(pageSize, 0xa5));
}

function expectRefusal(outcome: StartOutcome): void {
  expect(outcome.healthy, 'a server started on a damaged file').toBe(false);
  expect(outcome.code).toBe(1);
  expect(outcome.proc.stderr).toContain('corral: refusing to start');
}

describe('corral process durability', () => {
  it('keeps every acknowledged write after SIGKILL mid-stream', async () => {
    const dir = tempDir();
    let proc = await launch(dir);
    const known = await setUpCounters(proc);
    for (let round = 0; round < 2; round++) {
      const traffic = await writeThenKill(proc, round);
      proc = await launch(dir);
      await verifyAfterCrash(proc, traffic, known);
      // Checkpoints were taken mid-stream: recovery replayed only the log behind the last one.
      expect(await logEntries(proc)).toBeLessThan(ACKS_BEFORE_KILL);
    }
    // Writes go on after the second recovery.
    await mustWrite('PUT', znodeUrl(proc.url, '/v1/znodes', '/c/0'), 'after recovery', 200);
    expect(known.creates.size).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL);
  }, 60_000);

  it('refuses to start when a log entry is corrupted', async () => {
    const dir = tempDir();
    const proc = await launch(dir);
    await writeNodes(proc, 60, padded);
    await stopGracefully(proc);
    corruptOneLogEntry(join(dir, 'corral.db'));
    const outcome = await tryLaunch(dir);
    expectRefusal(outcome);
    expect(outcome.proc.stderr).toMatch(/log entries \d+\.\.\d+ are corrupt/);
  }, 45_000);

  it('refuses to start on a damaged database file, or serves exactly the acknowledged tree', async () => {
    const { dir, file, acknowledged } = await writtenAndStopped(300, padded);
    damageMiddlePage(file);
    const outcome = await tryLaunch(dir);
    if (outcome.healthy) expect(await readTree(outcome.proc.url)).toEqual(acknowledged);
    else expectRefusal(outcome);
  }, 45_000);

  it('refuses to start, with the refusal and not a crash, when the change history\'s pages are damaged', async () => {
    const { dir, file } = await writtenAndStopped(50, padded);
    damageTableRoot(file, 'change_batches');
    expectRefusal(await tryLaunch(dir));
  }, 45_000);

  it('refuses to start when bytes of a checkpointed node are damaged in the file, or serves it unaltered', async () => {
    const { dir, file, acknowledged } = await writtenAndStopped(260, (i) => `CKPT-MARKER-${String(i).padStart(4, '0')}-${'y'.repeat(100)}`);
    // Node data is stored raw only in checkpoint rows (the log holds it base64-encoded).
    expect(damageEveryCopy(file, 'CKPT-MARKER-0007-')).toBeGreaterThan(0);
    const outcome = await tryLaunch(dir);
    if (outcome.healthy) {
      const served = (await readTree(outcome.proc.url)).get('/d/n7')?.data;
      expect(served, 'the server started and serves damaged data as /d/n7').toBe(acknowledged.get('/d/n7')?.data);
    } else {
      expectRefusal(outcome);
    }
  }, 45_000);

  it('refuses to start when a checkpoint page has a flipped byte', async () => {
    const dir = tempDir();
    const file = join(dir, 'corral.db');
    const proc = await launch(dir);
    await writeNodes(proc, 260, padded);
    await stopGracefully(proc);
    const db = new Database(file);
    try {
      const page = db.prepare('SELECT gen, seq, head FROM checkpoint_pages ORDER BY gen DESC, seq LIMIT 1').get() as
        { gen: number; seq: number; head: Buffer };
      page.head[page.head.length >> 1]! ^= 0x01;
      const changed = db.prepare('UPDATE checkpoint_pages SET head = ? WHERE gen = ? AND seq = ?').run(page.head, page.gen, page.seq).changes;
      expect(changed).toBe(1);
    } finally {
      db.close();
    }
    expectRefusal(await tryLaunch(dir));
  }, 45_000);

  it('shuts down gracefully on SIGTERM with writes in flight and keeps every acknowledged write', async () => {
    const dir = tempDir();
    let proc = await launch(dir);
    const known = await setUpCounters(proc);
    const traffic = newTraffic();
    const writers = traffic.records.map((_, w) => runWriter(proc.url, 0, w, traffic, Date.now() + 20_000));
    try {
      await waitFor(() => traffic.acked >= 100, { timeoutMs: 15_000, what: '100 acknowledged writes' });
      proc.signal('SIGTERM');
      expect(await proc.waitExit(10_000)).toEqual({ code: 0, signal: null });
    } finally {
      traffic.stop = true;
      await Promise.all(writers);
    }
    proc = await launch(dir);
    await verifyAfterCrash(proc, traffic, known);
    expect(known.creates.size).toBeGreaterThanOrEqual(50);
  }, 45_000);
});

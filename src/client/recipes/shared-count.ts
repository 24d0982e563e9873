/**
 * A shared integer (Curator's SharedCount, with DistributedAtomicLong's add): the count is a
 * node's data (decimal text, so the CLI shows it), changed by compare-and-set on the node's
 * version, `trySetCount(newCount, expectedVersion)`, which fails (false) when anyone changed it
 * since that version was read. `add(delta)` is the CAS loop: read, try, on BADVERSION read again
 * and retry, with a growing random pause so contenders do not retry in lockstep.
 *
 * No increment is lost or counted twice: the CAS is a conditional setData, and one whose answer
 * was lost is sent again with the same request id (znode-ops.ts writeOnce), so a retry after a
 * leader change gets the first attempt's answer instead of a BADVERSION that would make the loop
 * add again. Listeners are fed by a NodeCache (a persistent watch): each is told the latest
 * value after a change, not necessarily every intermediate value (as with any watch).
 */
import { CorralError, znodeUrl } from '../corral-client.ts';
import { errorFromResponse } from '../errors.ts';
import type { CorralSession } from '../session.ts';
import { NodeCache } from './node-cache.ts';
import { checkRecipePath, expectStatus, ensureNode, readNode, requesterOf, writeOnce, type NodeSnapshot, type Requester } from './znode-ops.ts';

export interface VersionedValue {
  readonly value: number;
  /** The node's data version this value was read at: what trySetCount expects. */
  readonly version: number;
}

export type CountListener = (value: VersionedValue) => void;

export interface AddResult {
  readonly preValue: number;
  readonly postValue: number;
  /** CAS attempts it took (1 when nobody else wrote meanwhile). */
  readonly attempts: number;
}

const ADD_ATTEMPTS_MAX_DEFAULT = 1000;
const RETRY_PAUSE_MS_MAX = 50;

export class SharedCount {
  private readonly request: Requester;
  private readonly cache: NodeCache;
  private latest: VersionedValue | undefined;
  private readonly listeners = new Set<CountListener>();

  /** `seed`: the count a missing node starts with. */
  constructor(readonly session: CorralSession, readonly path: string, readonly seed = 0) {
    checkRecipePath('count', path);
    checkCount(seed);
    this.request = requesterOf(session);
    this.cache = new NodeCache(session.client, path);
    this.cache.onChange((change) => {
      // A node deleted (and maybe re-created) starts its versions again: forget the old one.
      if (change.type !== 'changed') this.latest = undefined;
      if (change.type !== 'deleted') this.learn(versioned(change.node));
    });
  }

  /** Creates the node with the seed when missing, then follows it. */
  async start(): Promise<void> {
    const parent = this.path.slice(0, this.path.lastIndexOf('/'));
    if (parent) await ensureNode(this.request, parent);
    const response = await writeOnce(this.request, znodeUrl('/v1/znodes', this.path), { method: 'POST', body: encode(this.seed), headers: OCTETS });
    await expectStatus(response, [201, 409]);
    await this.cache.start();
  }

  getCount(): number {
    return this.getVersionedValue().value;
  }

  /** The latest value this client knows of (from the watch or its own writes). */
  getVersionedValue(): VersionedValue {
    if (!this.latest) throw new CorralError(404, 'NONODE', -101, `${this.path} is not loaded (call start(), or it was deleted)`);
    return this.latest;
  }

  /** Sets the count whatever it was. */
  async setCount(count: number): Promise<void> {
    await this.write(count, undefined);
  }

  /** Sets the count only if the node is still at `expectedVersion`; false when someone changed it since. */
  async trySetCount(count: number, expectedVersion: number | VersionedValue): Promise<boolean> {
    const version = typeof expectedVersion === 'number' ? expectedVersion : expectedVersion.version;
    return this.write(count, version);
  }

  /** Adds `delta` by compare-and-set, retrying on conflicts (DistributedAtomicLong.add). */
  async add(delta: number, options: { attemptsMax?: number } = {}): Promise<AddResult> {
    const attemptsMax = options.attemptsMax ?? ADD_ATTEMPTS_MAX_DEFAULT;
    let current = this.latest ?? (await this.readNow());
    for (let attempt = 1; attempt <= attemptsMax; attempt++) {
      if (await this.write(current.value + delta, current.version)) return { preValue: current.value, postValue: current.value + delta, attempts: attempt };
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(RETRY_PAUSE_MS_MAX, attempt * 2)));
      current = await this.readNow();
    }
    throw new CorralError(409, 'BADVERSION', -103, `add to ${this.path} lost the race ${attemptsMax} times`);
  }

  /** Called with the latest value after each change this client learns of. */
  onChange(listener: CountListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    return this.cache.close();
  }

  private async readNow(): Promise<VersionedValue> {
    const node = await readNode(this.request, this.path);
    if (!node) throw new CorralError(404, 'NONODE', -101, `${this.path} does not exist`);
    return this.learn(versioned(node));
  }

  private async write(count: number, version: number | undefined): Promise<boolean> {
    checkCount(count);
    const query = version === undefined ? '' : `?version=${version}`;
    const response = await writeOnce(this.request, `${znodeUrl('/v1/znodes', this.path)}${query}`, { method: 'PUT', body: encode(count), headers: OCTETS });
    if (response.status === 409) {
      const error = await errorFromResponse(response);
      if (error.code === 'BADVERSION') return false;
      throw error;
    }
    if (!response.ok) throw await errorFromResponse(response);
    const { stat } = (await response.json()) as { stat: { version: number } };
    this.learn({ value: count, version: stat.version });
    return true;
  }

  /** Keeps the newest value (by version) and tells the listeners of a newer one. */
  private learn(value: VersionedValue): VersionedValue {
    if (this.latest && this.latest.version >= value.version) return this.latest;
    this.latest = value;
    for (const listener of [...this.listeners]) listener(value);
    return value;
  }
}

const OCTETS = { 'Content-Type': 'application/octet-stream' };

function encode(count: number): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(String(count));
}

function versioned(node: NodeSnapshot): VersionedValue {
  const text = new TextDecoder().decode(node.data);
  const value = /^-?\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) throw new CorralError(400, 'BADARGUMENTS', -8, `${node.path} holds "${text.slice(0, 40)}", not a count`);
  return { value, version: node.stat.version };
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count)) throw new CorralError(400, 'BADARGUMENTS', -8, `a count is a safe integer, got ${count}`);
}

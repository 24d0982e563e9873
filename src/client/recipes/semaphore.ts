/**
 * A counting semaphore with leases (Curator's InterProcessSemaphoreV2): `maxLeases` leases at a
 * path, each held as an ephemeral-sequential node `<path>/leases/_c_<guid>-lease-<seq>`, so a
 * holder whose session ends gives its leases back (the count of leases never shrinks by a crash).
 *
 * Acquirers are serialised by a fair Lock at `<path>/lock` (no herd: each waits for its
 * predecessor only). The lock holder creates its n lease nodes, then counts the leases with a
 * child watch; while there are more than `maxLeases` it waits for a change. Only the lock holder
 * watches the leases, so a release wakes one client, not every waiter; the order is FIFO; and an
 * acquire of n leases takes them together (two acquirers of several leases each cannot hold part
 * of what they need and deadlock). Invariant: the leases node holds at most `maxLeases` nodes plus
 * the one lock holder's, which it deletes unless it may keep them.
 *
 * `maxLeases` is stored as the path's data by the first acquirer, and an acquirer that says
 * another number is refused (BADARGUMENTS): Curator leaves a mismatch silent and the bound wrong.
 */
import { CorralError, znodeUrl } from '../corral-client.ts';
import { errorFromResponse } from '../errors.ts';
import type { CorralSession } from '../session.ts';
import { Lock } from './lock.ts';
import {
  createProtected, deadline, deleteQuietly, ensurePath, hold, listChildren, onSessionEnd, sessionEnded, sortedMembers, watchChildren, type Member, type QueueWaitOptions,
} from './sequential.ts';

const MARKER = 'lease';
/** A bound on what one semaphore may count (each lease is a node and a child-list entry). */
export const SEMAPHORE_LEASES_MAX = 10_000;
/** Reads of the leases before a lock holder gives up on finding room (each waits for a change). */
const ROOM_ROUNDS_MAX = 1_000_000;
const AGREE_ATTEMPTS_MAX = 5;

/** One held lease. */
export interface SemaphoreLease {
  /** The lease node's czxid: a fencing token (later leases have larger ones). */
  readonly token: bigint;
  readonly path: string;
  /** Aborted when the lease is lost without release(): the session ended or the node was deleted. */
  readonly lost: AbortSignal;
  /** Gives the lease back (once): deletes its node. */
  release(): Promise<void>;
}

export class Semaphore {
  private agreed = false;

  /** `path`: the semaphore's node; `maxLeases`: how many leases it has (every client must say the same). */
  constructor(readonly session: CorralSession, readonly path: string, readonly maxLeases: number) {
    if (!path.startsWith('/') || path.endsWith('/')) throw badArguments(`a semaphore path is an absolute znode path, got "${path}"`);
    if (!Number.isInteger(maxLeases) || maxLeases < 1 || maxLeases > SEMAPHORE_LEASES_MAX) throw badArguments(`maxLeases is an integer in [1, ${SEMAPHORE_LEASES_MAX}], got ${maxLeases}`);
  }

  private get leasesPath(): string {
    return `${this.path}/leases`;
  }

  /** Waits (in arrival order) until `n` leases are free and takes them together. */
  async acquire(n = 1, options: QueueWaitOptions = {}): Promise<SemaphoreLease[]> {
    if (!Number.isInteger(n) || n < 1 || n > this.maxLeases) throw badArguments(`a semaphore of ${this.maxLeases} leases gives 1 to ${this.maxLeases} at once, asked for ${n}`);
    if (this.session.ended) throw sessionEnded(this.session);
    const wait = deadline(options.timeoutMs, options.signal, `acquiring ${n} lease(s) of ${this.path}`);
    const stopOnEnd = onSessionEnd(this.session, () => wait.abort(sessionEnded(this.session)));
    try {
      await this.agreeOnMax();
      const turn = await new Lock(this.session, `${this.path}/lock`).acquire({ signal: wait.signal });
      try {
        return await this.takeLeases(n, wait.signal);
      } finally {
        await turn.release().catch(() => undefined); // the next acquirer may count now
      }
    } catch (error) {
      throw wait.signal.aborted ? wait.signal.reason : error;
    } finally {
      stopOnEnd();
      wait.dispose();
    }
  }

  /** The leases held now, by anyone (a snapshot). */
  async leaseCount(): Promise<number> {
    return sortedMembers(await listChildren(this.session, this.leasesPath), MARKER).length;
  }

  /** Under the lock: creates our n nodes, waits until the leases fit, or deletes them. */
  private async takeLeases(n: number, stop: AbortSignal): Promise<SemaphoreLease[]> {
    const created: Member[] = [];
    try {
      for (let i = 0; i < n; i++) created.push(await createProtected(this.session, this.leasesPath, MARKER));
      await this.waitForRoom(created, stop);
      return created.map((member) => this.lease(member));
    } catch (error) {
      if (!this.session.ended) for (const member of created) await deleteQuietly(this.session, member.path).catch(() => undefined);
      throw error;
    }
  }

  private async waitForRoom(ours: readonly Member[], stop: AbortSignal): Promise<void> {
    for (let round = 0; round < ROOM_ROUNDS_MAX; round++) {
      if (stop.aborted) throw stop.reason;
      const { children, changed, off } = await watchChildren(this.session, this.leasesPath, stop);
      const leases = sortedMembers(children, MARKER);
      const missing = ours.find((member) => !leases.includes(member.name));
      if (missing) {
        off();
        throw new CorralError(404, 'NONODE', -101, `${missing.path} is gone (the session ended or it was deleted)`);
      }
      if (leases.length <= this.maxLeases) return off();
      await changed;
    }
    throw new CorralError(0, 'OPERATIONTIMEOUT', -7, `no room in ${this.leasesPath} after ${ROOM_ROUNDS_MAX} rounds`);
  }

  private lease(member: Member): SemaphoreLease {
    const held = hold(this.session, member);
    return { token: member.czxid, path: member.path, lost: held.lost, release: () => held.release() };
  }

  /** Stores maxLeases as the path's data if none is there (CAS on version), else checks it matches. */
  private async agreeOnMax(): Promise<void> {
    for (let attempt = 1; !this.agreed && attempt <= AGREE_ATTEMPTS_MAX; attempt++) {
      const url = znodeUrl('/v1/znodes', this.path);
      const response = await this.session.request(url, { headers: { Accept: 'application/octet-stream' } });
      if (response.status === 404) {
        await response.body?.cancel();
        await ensurePath(this.session, this.path);
        continue;
      }
      if (!response.ok) throw await errorFromResponse(response);
      const text = new TextDecoder().decode(await response.arrayBuffer());
      if (text !== '') {
        if (text !== String(this.maxLeases)) throw badArguments(`${this.path} is a semaphore of ${text} leases, this client says ${this.maxLeases}`);
        this.agreed = true;
        return;
      }
      const version = (response.headers.get('ETag') ?? '').replaceAll('"', '');
      const put = await this.session.request(`${url}?version=${version}`, { method: 'PUT', body: String(this.maxLeases), headers: { 'Content-Type': 'application/octet-stream' } });
      if (!put.ok && put.status !== 409) throw await errorFromResponse(put); // 409 BADVERSION: another client wrote first; read it
      await put.body?.cancel();
      this.agreed = put.ok;
    }
    if (!this.agreed) throw new CorralError(409, 'BADVERSION', -103, `could not agree on ${this.path}'s lease count in ${AGREE_ATTEMPTS_MAX} attempts`);
  }
}

function badArguments(message: string): CorralError {
  return new CorralError(400, 'BADARGUMENTS', -8, message);
}

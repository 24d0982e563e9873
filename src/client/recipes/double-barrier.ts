/**
 * A double barrier (Curator's DistributedDoubleBarrier): `memberQty` members enter together and
 * leave together. Each member is an ephemeral node `<barrier>/<id>`; enter() waits until that
 * many members are there, signalled by the node `<barrier>/ready`, which the member that
 * completes the count creates; leave() waits until every member has left.
 *
 * Enter: the exists watch on `ready` is set before our node is created, and the count is read
 * after, so the last member to arrive always sees the full count (its listing follows every
 * other create) and no member misses `ready`. Leave (no herd): the lowest-named member waits for
 * the highest to go; every other member deletes its node and waits for the lowest to go; each
 * deletion wakes one waiter, which looks again. The last one deletes `ready`.
 *
 * Failure behaviour: a member whose session ends is gone from the count (its node is
 * ephemeral): enter() of the others waits for a replacement, and leave() of the others no longer
 * waits for it. The member itself gets SESSIONEXPIRED. A `ready` left by a crashed earlier round
 * lets the next round's members through at once (as in Curator): delete it when reusing a path.
 */
import { CorralError, znodeUrl } from '../corral-client.ts';
import { errorFromResponse } from '../errors.ts';
import type { CorralSession } from '../session.ts';
import { deadline, sessionEnded } from './sequential.ts';
import { waitUntilExists, waitUntilGone, watchedRead } from './session-watch.ts';
import { checkRecipePath, expectStatus, childPath, ensureNode, readChildren, readNode, requesterOf, writeOnce, type Requester } from './znode-ops.ts';
import type { BarrierWaitOptions } from './barrier.ts';

const READY = 'ready';
/** Rounds of leave() (each waits for one member to go), at most. */
const LEAVE_ROUNDS_MAX = 100_000;

export class DoubleBarrier {
  private readonly request: Requester;
  private readonly ours: string;
  private readonly ready: string;

  /** `id`: this member's node name (random by default). */
  constructor(readonly session: CorralSession, readonly path: string, readonly memberQty: number, readonly id: string = globalThis.crypto.randomUUID()) {
    checkRecipePath('double barrier', path);
    if (!Number.isInteger(memberQty) || memberQty < 1) throw new CorralError(400, 'BADARGUMENTS', -8, `memberQty is a positive integer, got ${memberQty}`);
    if (id === READY || id === '' || id.includes('/')) throw new CorralError(400, 'BADARGUMENTS', -8, `a member id is one znode name other than "${READY}", got "${id}"`);
    this.request = requesterOf(session);
    this.ours = childPath(path, id);
    this.ready = childPath(path, READY);
  }

  /** Joins and waits until `memberQty` members have joined. */
  async enter(options: BarrierWaitOptions = {}): Promise<void> {
    if (this.session.ended) throw sessionEnded(this.session);
    const wait = deadline(options.timeoutMs, options.signal, `${this.memberQty} members in ${this.path}`);
    let joined = false;
    try {
      await ensureNode(this.request, this.path);
      const readyWatch = await watchedRead(this.session, `${znodeUrl('/v1/stat', this.ready)}?watch=true`, this.ready, { signal: wait.signal });
      if (!readyWatch.response.ok && readyWatch.response.status !== 404) {
        readyWatch.cancel();
        throw await errorFromResponse(readyWatch.response);
      }
      await readyWatch.response.body?.cancel();
      joined = true;
      await this.join();
      if (readyWatch.response.ok) return readyWatch.cancel(); // a round already under way: as Curator, go in
      if (this.members(await readChildren(this.request, this.path)).length >= this.memberQty) {
        readyWatch.cancel();
        await this.createReady();
        return;
      }
      const event = await readyWatch.fired;
      if (event.type !== 'NodeCreated') await waitUntilExists(this.session, this.ready, wait.signal);
    } catch (error) {
      // Gave up: leave the count, so the others do not go in with a member that is not there.
      if (joined && !this.session.ended) await this.deleteQuietly(this.ours).catch(() => undefined);
      throw wait.signal.aborted ? wait.signal.reason : error;
    } finally {
      wait.dispose();
    }
  }

  /** Leaves and waits until every member has left. */
  async leave(options: BarrierWaitOptions = {}): Promise<void> {
    const wait = deadline(options.timeoutMs, options.signal, `every member to leave ${this.path}`);
    try {
      let oursShouldExist = true;
      for (let round = 0; round < LEAVE_ROUNDS_MAX; round++) {
        if (this.session.ended) throw sessionEnded(this.session);
        const members = this.members(await readChildren(this.request, this.path));
        if (members.length === 0) break;
        const at = members.indexOf(this.id);
        if (at < 0 && oursShouldExist) throw new CorralError(404, 'NONODE', -101, `${this.ours} is gone (the session ended or it was deleted)`);
        if (members.length === 1) {
          if (at === 0) await this.deleteQuietly(this.ours);
          break;
        }
        if (at === 0) {
          await waitUntilGone(this.session, childPath(this.path, members[members.length - 1]!), wait.signal);
        } else {
          if (oursShouldExist) await this.deleteQuietly(this.ours);
          oursShouldExist = false;
          await waitUntilGone(this.session, childPath(this.path, members[0]!), wait.signal);
        }
      }
      await this.deleteQuietly(this.ready);
    } catch (error) {
      throw wait.signal.aborted ? wait.signal.reason : error;
    } finally {
      wait.dispose();
    }
  }

  /** Creates our ephemeral node; one found there that is ours (a lost answer's retry) is fine. */
  private async join(): Promise<void> {
    const response = await writeOnce(this.request, `${znodeUrl('/v1/znodes', this.ours)}?mode=ephemeral`, { method: 'POST', body: new Uint8Array(), headers: OCTETS });
    if (response.status === 201) return void (await response.body?.cancel());
    const error = await errorFromResponse(response);
    if (response.status === 409 && (await readNode(this.request, this.ours))?.stat.ephemeralOwner === this.session.id) return;
    throw error;
  }

  private async createReady(): Promise<void> {
    const response = await writeOnce(this.request, znodeUrl('/v1/znodes', this.ready), { method: 'POST', body: new Uint8Array(), headers: OCTETS });
    await expectStatus(response, [201, 409]);
  }

  private async deleteQuietly(path: string): Promise<void> {
    const response = await writeOnce(this.request, znodeUrl('/v1/znodes', path), { method: 'DELETE' });
    await expectStatus(response, [204, 404]);
  }

  private members(children: readonly string[] | undefined): string[] {
    return (children ?? []).filter((name) => name !== READY).sort();
  }
}

const OCTETS = { 'Content-Type': 'application/octet-stream' };

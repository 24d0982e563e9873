/**
 * What the queue recipes (Lock, ReadWriteLock, Semaphore, LeaderLatch, LeaderSelector) share:
 * ephemeral-sequential children ordered by their sequence number, a "protected" create
 * (Curator's protection mode: a per-attempt GUID in the name, so a create whose answer was lost
 * is found again instead of leaking a node that would hold the lock forever), a wait for one
 * node's deletion (each waiter watches only the node that blocks it), holding a member (lost when
 * the session ends or the node is deleted), and noticing the session's end.
 */
import { CorralError, znodeUrl, type ZnodeStat } from '../corral-client.ts';
import { errorFromResponse } from '../errors.ts';
import type { CorralSession, WatchEvent } from '../session.ts';

/** ZooKeeper's OPERATIONTIMEOUT: an acquire or wait that ran out of time. */
export const OPERATIONTIMEOUT = { code: 'OPERATIONTIMEOUT', zkCode: -7 } as const;
/** A protected create retried this many times at most when its answer is lost. */
const CREATE_ATTEMPTS_MAX = 5;
/** How often the recipes look at `session.ended` (the session has no end callback). */
const SESSION_POLL_MS = 50;
const PROTECTED_PREFIX = '_c_';
const SEQUENCE = /(\d{10})$/;

/** The 10-digit sequence suffix ZooKeeper gives a sequential node, as a number. */
export function sequenceOf(name: string): number {
  const match = SEQUENCE.exec(name);
  return match ? Number(match[1]) : Number.MAX_SAFE_INTEGER;
}

/** Names that end in `-<marker>-<seq>` (for any of `markers`), in sequence order (the GUID prefix must not decide). */
export function sortedMembers(children: readonly string[], markers: string | readonly string[]): string[] {
  const wanted = typeof markers === 'string' ? [markers] : markers;
  return children.filter((name) => wanted.some((marker) => isMarked(name, marker))).sort((a, b) => sequenceOf(a) - sequenceOf(b));
}

/** Whether a member's name carries `marker` (a GUID is hex, so a marker with a non-hex letter cannot appear in it). */
export function isMarked(name: string, marker: string): boolean {
  return name.includes(`-${marker}-`) || name.startsWith(`${marker}-`);
}

export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The children of `path` (sorted by the server), or none when it does not exist. */
export async function listChildren(session: CorralSession, path: string): Promise<string[]> {
  const response = await session.request(znodeUrl('/v1/children', path));
  if (response.status === 404) {
    await response.body?.cancel();
    return [];
  }
  if (!response.ok) throw await errorOf(response);
  return ((await response.json()) as { children: string[] }).children;
}

/** Creates `path` and its missing ancestors as persistent nodes (NODEEXISTS is success). */
export async function ensurePath(session: CorralSession, path: string): Promise<void> {
  const parts = path.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const response = await session.request(znodeUrl('/v1/znodes', `/${parts.slice(0, i).join('/')}`), { method: 'POST', body: new Uint8Array(), headers: { 'Content-Type': 'application/octet-stream' } });
    if (response.status !== 201 && response.status !== 409) throw await errorOf(response);
    await response.body?.cancel();
  }
}

export interface Member {
  readonly path: string;
  readonly name: string;
  /** The node's czxid: the zxid of the transaction that created it. */
  readonly czxid: bigint;
}

/**
 * Creates `<parent>/_c_<guid>-<marker>-<seq>` as an ephemeral-sequential node of the session.
 * When the answer is lost (the client's failover gave up: CONNECTIONLOSS or a final 503), the
 * node may exist anyway: the parent's children are searched for this attempt's GUID first.
 */
export async function createProtected(session: CorralSession, parent: string, marker: string, data: Uint8Array = new Uint8Array()): Promise<Member> {
  const guid = globalThis.crypto.randomUUID();
  const prefix = `${PROTECTED_PREFIX}${guid}-${marker}-`;
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await session.request(`${znodeUrl('/v1/znodes', `${parent}/${prefix}`)}?mode=ephemeral_sequential`, {
        method: 'POST', body: new Uint8Array(data), headers: { 'Content-Type': 'application/octet-stream' },
      });
      if (response.status === 404) {
        await response.body?.cancel();
        await ensurePath(session, parent); // the parent is missing (first use, or removed): make it, try again
        if (attempt < CREATE_ATTEMPTS_MAX) continue;
      }
      if (response.status !== 201) throw await errorOf(response);
      const body = (await response.json()) as { path: string; stat: ZnodeStat };
      return { path: body.path, name: nameOf(body.path), czxid: BigInt(body.stat.czxid) };
    } catch (error) {
      if (!answerLost(error) || attempt >= CREATE_ATTEMPTS_MAX) throw error;
      const found = (await listChildren(session, parent)).find((name) => name.startsWith(prefix));
      if (found) return { path: `${parent}/${found}`, name: found, czxid: await czxidOf(session, `${parent}/${found}`) };
    }
  }
}

async function czxidOf(session: CorralSession, path: string): Promise<bigint> {
  const response = await session.request(znodeUrl('/v1/stat', path));
  if (!response.ok) throw await errorOf(response);
  return BigInt(((await response.json()) as { stat: ZnodeStat }).stat.czxid);
}

/** A failure after which a write may or may not have been applied. */
function answerLost(error: unknown): boolean {
  return error instanceof CorralError && (error.code === 'CONNECTIONLOSS' || error.status === 503);
}

/** Deletes a node; a node already gone (session ended, deleted by hand) is not an error. */
export async function deleteQuietly(session: CorralSession, path: string): Promise<void> {
  const response = await session.request(znodeUrl('/v1/znodes', path), { method: 'DELETE' });
  await response.body?.cancel();
  if (response.status !== 204 && response.status !== 404 && response.status !== 410) throw await errorOf(response);
}

/**
 * Resolves once `path` is deleted (or does not exist now). Sets a one-shot data watch through
 * getData, which sets none on a missing node (an exists watch would linger on a name that never
 * comes back). Events are routed by one listener per session (see `routes`).
 */
export function waitForDeletion(session: CorralSession, path: string, stop: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      off();
      stop.removeEventListener('abort', onStop);
      resolve();
    };
    const onStop = () => {
      off();
      reject(stop.reason);
    };
    const off = onPathEvent(session, path, (event) => event.type === 'NodeDeleted' && done());
    if (stop.aborted) return onStop();
    stop.addEventListener('abort', onStop, { once: true });
    session.request(`${znodeUrl('/v1/znodes', path)}?watch=true`, { headers: { Accept: 'application/octet-stream' } }).then(async (response) => {
      await response.body?.cancel();
      if (response.status === 404) done();
      else if (!response.ok) {
        off();
        reject(await errorOf(response));
      }
    }, (error: unknown) => {
      off();
      reject(error);
    });
  });
}

type Route = (event: WatchEvent) => void;
/** Per session: path → listeners. One session.onEvent listener each, since it cannot be removed. */
const routes = new WeakMap<CorralSession, Map<string, Set<Route>>>();

/** Routes the session's events for `path` to `route` until the answered function is called. */
export function onPathEvent(session: CorralSession, path: string, route: Route): () => void {
  let table = routes.get(session);
  if (!table) {
    const created = new Map<string, Set<Route>>();
    table = created;
    routes.set(session, created);
    session.onEvent((event) => {
      for (const listener of [...(created.get(event.path) ?? [])]) listener(event);
    });
  }
  const set = table.get(path) ?? new Set<Route>();
  table.set(path, set);
  set.add(route);
  // Idempotent, and it drops only its own set: a second call after the path's set was replaced
  // (its listeners all gone, then a new one added) used to drop the new set, losing its events.
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    set.delete(route);
    if (set.size === 0 && table.get(path) === set) table.delete(path);
  };
}

/** SESSIONEXPIRED for a closed session too: either way its ephemerals, a recipe's nodes included, are gone. */
export function sessionEnded(session: CorralSession): CorralError {
  return new CorralError(410, 'SESSIONEXPIRED', -112, `session ${session.id} has ${session.ended === 'closed' ? 'been closed' : 'expired'}`);
}

/** Calls `onEnd` once when the session is closed or expired; answers a function that stops looking. */
export function onSessionEnd(session: CorralSession, onEnd: (state: 'closed' | 'expired') => void): () => void {
  if (session.ended) {
    onEnd(session.ended);
    return () => undefined;
  }
  const timer = setInterval(() => {
    if (!session.ended) return;
    clearInterval(timer);
    onEnd(session.ended);
  }, SESSION_POLL_MS);
  (timer as unknown as { unref?: () => void }).unref?.(); // Node: do not keep the process alive; browsers have no unref
  return () => clearInterval(timer);
}

/** Rejects with OPERATIONTIMEOUT after `ms`, or with the caller's abort reason; `dispose` stops both. */
export function deadline(ms: number | undefined, signal: AbortSignal | undefined, what: string): { signal: AbortSignal; abort: (reason: unknown) => void; dispose: () => void } {
  const controller = new AbortController();
  const timer = ms === undefined ? undefined : setTimeout(() => controller.abort(new CorralError(0, OPERATIONTIMEOUT.code, OPERATIONTIMEOUT.zkCode, `${what} did not happen in ${ms} ms`)), ms);
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

function errorOf(response: Response): Promise<CorralError> {
  return errorFromResponse(response);
}

/**
 * The member `ours` (at index `at` of the sorted members) waits for: the one node it watches, or
 * undefined when nothing blocks it. A pure rule, so it can be checked without a server.
 */
export type BlockerOf = (members: readonly string[], at: number) => string | undefined;

/** The mutex rule: the node just before ours (the first member holds). */
export const predecessor: BlockerOf = (members, at) => (at > 0 ? members[at - 1] : undefined);

/** Turns through the queue at most this many times (each turn waits for a deletion). */
const TURNS_MAX = 1_000_000;

/**
 * Until no member blocks `ours`: each round lists `parent`, asks `blockerOf`, and watches only
 * that one node. NONODE when our own node is gone (the session ended or it was deleted).
 */
export async function waitForTurn(session: CorralSession, parent: string, ours: Member, markers: readonly string[], blockerOf: BlockerOf, stop: AbortSignal): Promise<void> {
  for (let round = 0; round < TURNS_MAX; round++) {
    if (stop.aborted) throw stop.reason;
    const members = sortedMembers(await listChildren(session, parent), markers);
    const at = members.indexOf(ours.name);
    if (at < 0) throw new CorralError(404, 'NONODE', -101, `${ours.path} is gone (the session ended or it was deleted)`);
    const blocker = blockerOf(members, at);
    if (blocker === undefined) return;
    await waitForDeletion(session, `${parent}/${blocker}`, stop);
  }
  throw new CorralError(0, OPERATIONTIMEOUT.code, OPERATIONTIMEOUT.zkCode, `${ours.path} waited ${TURNS_MAX} turns`);
}

/** A member this client holds: what a lock lease or a semaphore lease is built on. */
export interface Held {
  readonly member: Member;
  /** Aborted when the member is lost without release(): the session ended or the node was deleted. */
  readonly lost: AbortSignal;
  /** Deletes the node (once; later calls answer at once). */
  release(): Promise<void>;
}

/** Starts watching a member this client now holds: its loss (session end, node deleted) aborts `lost`. */
export function hold(session: CorralSession, member: Member): Held {
  const lost = new AbortController();
  const stopOnEnd = onSessionEnd(session, () => lost.abort(sessionEnded(session)));
  const nodeGone = new AbortController();
  // Our node deleted by someone else (an operator) also ends what we hold.
  waitForDeletion(session, member.path, nodeGone.signal).then(
    () => lost.abort(new CorralError(404, 'NONODE', -101, `${member.path} was deleted`)),
    () => undefined,
  );
  let released = false;
  return {
    member,
    lost: lost.signal,
    release: async () => {
      if (released) return;
      released = true;
      stopOnEnd();
      nodeGone.abort();
      if (!session.ended) await deleteQuietly(session, member.path);
    },
  };
}

/** What a queue recipe's acquire takes. */
export interface QueueWaitOptions {
  /** Give up (OPERATIONTIMEOUT) after this long; by default wait until the session ends. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Joins a queue and waits: creates our member (protected), runs `waitFn` under the caller's
 * deadline, and on any failure (timeout, abort, session end) deletes the member so no one
 * waits behind a ghost. The error is the deadline's reason when it fired.
 */
export async function joinAndWait(
  session: CorralSession, parent: string, marker: string, data: Uint8Array, options: QueueWaitOptions, what: string,
  waitFn: (ours: Member, stop: AbortSignal) => Promise<void>,
): Promise<Member> {
  if (session.ended) throw sessionEnded(session);
  const wait = deadline(options.timeoutMs, options.signal, what);
  const stopOnEnd = onSessionEnd(session, () => wait.abort(sessionEnded(session)));
  let ours: Member | undefined;
  try {
    ours = await createProtected(session, parent, marker, data);
    await waitFn(ours, wait.signal);
    return ours;
  } catch (error) {
    if (ours && !session.ended) await deleteQuietly(session, ours.path).catch(() => undefined);
    throw wait.signal.aborted ? wait.signal.reason : error;
  } finally {
    stopOnEnd();
    wait.dispose();
  }
}

/**
 * Lists `path`'s children and sets a one-shot child watch in the same read; `changed` resolves
 * on the next change of the children (or the node's deletion) and rejects when `stop` aborts.
 * Call `off()` when not waiting for `changed` (the server's watch stays until it fires, as in
 * ZooKeeper; one per session and path).
 */
export async function watchChildren(session: CorralSession, path: string, stop: AbortSignal): Promise<{ children: string[]; changed: Promise<void>; off: () => void }> {
  let fired: () => void = () => undefined;
  let failed: (reason: unknown) => void = () => undefined;
  const changed = new Promise<void>((resolve, reject) => ((fired = resolve), (failed = reject)));
  changed.catch(() => undefined); // the caller may not wait for it
  const onStop = () => (off(), failed(stop.reason));
  const offRoute = onPathEvent(session, path, (event) => (event.type === 'NodeChildrenChanged' || event.type === 'NodeDeleted') && (off(), fired()));
  const off = () => (offRoute(), stop.removeEventListener('abort', onStop));
  if (stop.aborted) onStop();
  else stop.addEventListener('abort', onStop, { once: true });
  try {
    const response = await session.request(`${znodeUrl('/v1/children', path)}?watch=true`);
    if (!response.ok) throw await errorOf(response);
    return { children: ((await response.json()) as { children: string[] }).children, changed, off };
  } catch (error) {
    off();
    throw error;
  }
}

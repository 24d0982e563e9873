/**
 * One-shot watches set through a session, for the recipes that wait for a node to appear or for
 * a node's children to change (DoubleBarrier, DistributedQueue). The listener for the path is in
 * place before the read that sets the watch goes out: the session delivers an event before the
 * answer of a read that reflects it, so an event between the two is never missed. Events are
 * routed by path through sequential.ts's one listener per session (onPathEvent).
 */
import { znodeUrl } from '../corral-client.ts';
import { errorFromResponse } from '../errors.ts';
import type { CorralSession, WatchEvent } from '../session.ts';
import { deadline, onPathEvent, onSessionEnd, sessionEnded } from './sequential.ts';

/** Rounds of a wait whose watch fired for another reason (a data change), at most. */
const WAIT_ROUNDS_MAX = 100_000;

export interface WatchedRead {
  readonly response: Response;
  /** Resolves with the watch's event; rejects when stopped, timed out or the session ends. */
  readonly fired: Promise<WatchEvent>;
  /** Stops waiting (the server-side watch stays until it fires, as in ZooKeeper). */
  readonly cancel: () => void;
}

/**
 * Sends `url` (a read with `?watch=true` for `path`) and waits for the watch it sets. A caller
 * that learns from the response that no wait is needed calls cancel().
 */
export async function watchedRead(session: CorralSession, url: string, path: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<WatchedRead> {
  const wait = deadline(options.timeoutMs, options.signal, `a change of ${path}`);
  let settle: { resolve: (event: WatchEvent) => void; reject: (error: unknown) => void } = { resolve: () => undefined, reject: () => undefined };
  const fired = new Promise<WatchEvent>((resolve, reject) => (settle = { resolve, reject }));
  fired.catch(() => undefined); // a cancelled wait is nobody's error
  const stopRoute = onPathEvent(session, path, (event) => finish(() => settle.resolve(event)));
  const stopOnEnd = onSessionEnd(session, () => finish(() => settle.reject(sessionEnded(session))));
  const onAbort = () => finish(() => settle.reject(wait.signal.reason));
  wait.signal.addEventListener('abort', onAbort, { once: true });
  function finish(then: () => void): void {
    stopRoute();
    stopOnEnd();
    wait.signal.removeEventListener('abort', onAbort);
    wait.dispose();
    then();
  }
  let response: Response;
  try {
    response = await session.request(url);
  } catch (error) {
    finish(() => settle.reject(error));
    throw error;
  }
  if (wait.signal.aborted) onAbort();
  return { response, fired, cancel: () => finish(() => settle.reject(new Error('cancelled'))) };
}

/** Reads a watched response's body as JSON, or throws its error body (the wait is cancelled either way on error). */
export async function jsonOf<T>(read: WatchedRead, okStatuses: readonly number[] = [200]): Promise<T | undefined> {
  if (okStatuses.includes(read.response.status)) {
    if (read.response.status === 404) {
      await read.response.body?.cancel();
      return undefined;
    }
    return (await read.response.json()) as T;
  }
  read.cancel();
  throw await errorFromResponse(read.response);
}

/** Resolves once `path` does not exist (now, or after its deletion); rejects when `signal` aborts or the session ends. */
export async function waitUntilGone(session: CorralSession, path: string, signal: AbortSignal): Promise<void> {
  for (let round = 0; round < WAIT_ROUNDS_MAX; round++) {
    // A data watch through getData: none is set on a missing node, so nothing lingers.
    const read = await watchedRead(session, `${znodeUrl('/v1/znodes', path)}?watch=true`, path, { signal });
    if (read.response.status === 404) {
      read.cancel();
      await read.response.body?.cancel();
      return;
    }
    if (!read.response.ok) {
      read.cancel();
      throw await errorFromResponse(read.response);
    }
    await read.response.body?.cancel();
    const event = await read.fired;
    if (event.type === 'NodeDeleted') return;
    // A data change consumed the one-shot watch: set it again.
  }
  throw new Error(`${path} changed more than ${WAIT_ROUNDS_MAX} times while waited on`);
}

/** Resolves once `path` exists (an exists watch, which a missing node keeps until it is created). */
export async function waitUntilExists(session: CorralSession, path: string, signal: AbortSignal): Promise<void> {
  for (let round = 0; round < WAIT_ROUNDS_MAX; round++) {
    const read = await watchedRead(session, `${znodeUrl('/v1/stat', path)}?watch=true`, path, { signal });
    if (read.response.status !== 404 && !read.response.ok) {
      read.cancel();
      throw await errorFromResponse(read.response);
    }
    await read.response.body?.cancel();
    if (read.response.ok) return read.cancel();
    const event = await read.fired;
    if (event.type === 'NodeCreated') return;
  }
  throw new Error(`${path} changed more than ${WAIT_ROUNDS_MAX} times while waited on`);
}

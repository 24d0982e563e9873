/**
 * `/.corral-gateway` (under the chroot) holds the gateways' session records (record-store.ts):
 * what a session watched and its last events, which a takeover queues on its stream again. The
 * API does not reach it: a caller who could write or delete another session's record could put
 * events on that session's stream or drop its watches at a takeover, and one who could read it
 * would learn the paths another session watches. So every read, write and watch of a path in it
 * answers NOAUTH, and no stream hears of changes in it (a session's own record is written as it
 * hears events: a recursive watch on / would otherwise hear its own record's writes, each of
 * which writes the record again). The node still shows in listings of `/`.
 */
import { zkError, type ZkError } from '../../core/errors.ts';
import { RECORD_ROOT } from './record-store.ts';

export function isGatewayOwn(path: string): boolean {
  return path === RECORD_ROOT || path.startsWith(`${RECORD_ROOT}/`);
}

export function refusedOwn(path: string): ZkError {
  return zkError('NOAUTH', `${RECORD_ROOT} holds the gateways' session records: the API does not reach it`, path);
}

/** The events a stream may hear: none about the gateways' own records. */
export function withoutOwn<E extends { readonly path: string }>(events: readonly E[]): readonly E[] {
  return events.some((e) => isGatewayOwn(e.path)) ? events.filter((e) => !isGatewayOwn(e.path)) : events;
}

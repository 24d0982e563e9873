/**
 * `/.corral-gateway` (under the chroot) holds the gateways' session records (record-store.ts):
 * what a session watched and its last events, which a takeover queues on its stream again. The
 * API does not reach below it: a caller who could write or delete another session's record could
 * put events on that session's stream or drop its watches at a takeover, and one who could read
 * it would learn the paths another session watches. So every read, write and watch of a path
 * below it answers NOAUTH; `/.corral-gateway` itself may be read and created (the gateway makes it
 * first, with its own ACL: NODEEXISTS), not changed, ACL'd, deleted or watched. No stream hears of changes
 * in it (a session's own record is written as it hears events: a recursive watch on / would
 * otherwise hear its own record's writes, each of which writes the record again).
 */
import { zkError, type ZkError } from '../../core/errors.ts';
import { RECORD_ROOT } from './record-store.ts';

/** Below RECORD_ROOT: no read, write or watch of the API reaches it. */
export function isGatewayOwn(path: string): boolean {
  return path.startsWith(`${RECORD_ROOT}/`);
}

/** RECORD_ROOT or below: no stream hears of it, no watch is set on it. */
export function isGatewayOwnOrRoot(path: string): boolean {
  return path === RECORD_ROOT || isGatewayOwn(path);
}

/** A write the API refuses: any below RECORD_ROOT, and any of RECORD_ROOT but a create (which finds it made). */
export function isRefusedWrite(op: { readonly type: string; readonly path: string }): boolean {
  return isGatewayOwn(op.path) || (op.path === RECORD_ROOT && op.type !== 'create');
}

export function refusedOwn(path: string): ZkError {
  return zkError('NOAUTH', `${RECORD_ROOT} holds the gateways' session records: the API does not reach it`, path);
}

/** The events a stream may hear: none about the gateways' own records. */
export function withoutOwn<E extends { readonly path: string }>(events: readonly E[]): readonly E[] {
  return events.some((e) => isGatewayOwnOrRoot(e.path)) ? events.filter((e) => !isGatewayOwnOrRoot(e.path)) : events;
}

/** ZooKeeper's numeric error codes (KeeperException.Code) as Corral's typed ZkError values. */
import { ZK_CODES, zkError, type ZkError } from '../core/errors.ts';

const BY_NUMBER = new Map<number, ZkError['code']>(
  Object.entries(ZK_CODES).filter(([name]) => name !== 'OK').map(([name, n]) => [n, name as ZkError['code']]),
);

/** The error of a reply's `err` (never 0); a code Corral does not name is a SYSTEMERROR saying which. */
export function errorOf(err: number, path?: string): ZkError {
  const code = BY_NUMBER.get(err);
  if (code === undefined) return zkError('SYSTEMERROR', `ZooKeeper answered error ${err}`, path);
  return zkError(code, `ZooKeeper: ${code.toLowerCase()}${path === undefined ? '' : ` for ${path}`}`, path);
}

export function connectionLoss(message: string): ZkError {
  return zkError('CONNECTIONLOSS', message);
}

export function isZkError(value: unknown): value is ZkError {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value && !('stat' in value);
}

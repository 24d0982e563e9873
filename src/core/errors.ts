/**
 * ZooKeeper's error codes as typed values. Expected domain outcomes (a missing node, a version
 * mismatch) are returned as `ZkError` values, never thrown; the HTTP layer maps them to statuses
 * in one table (src/http/errors.ts).
 */

export const ZK_CODES = {
  OK: 0,
  SYSTEMERROR: -1,
  RUNTIMEINCONSISTENCY: -2,
  DATAINCONSISTENCY: -3,
  CONNECTIONLOSS: -4,
  MARSHALLINGERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATIONTIMEOUT: -7,
  BADARGUMENTS: -8,
  UNKNOWNSESSION: -12,
  NEWCONFIGNOQUORUM: -13,
  RECONFIGINPROGRESS: -14,
  APIERROR: -100,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NOCHILDRENFOREPHEMERALS: -108,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  INVALIDCALLBACK: -113,
  INVALIDACL: -114,
  AUTHFAILED: -115,
  SESSIONMOVED: -118,
  NOTREADONLY: -119,
  EPHEMERALONLOCALSESSION: -120,
  NOWATCHER: -121,
  REQUESTTIMEOUT: -122,
  RECONFIGDISABLED: -123,
  QUOTAEXCEEDED: -125,
  THROTTLEDOP: -127,
} as const;

export type ZkCode = keyof typeof ZK_CODES;

export interface ZkError {
  readonly code: Exclude<ZkCode, 'OK'>;
  readonly message: string;
  readonly path?: string;
  /** Set when the request broke the data size limit (HTTP 413 rather than 400). */
  readonly tooLarge?: true;
}

export function zkError(code: ZkError['code'], message: string, path?: string): ZkError {
  return path === undefined ? { code, message } : { code, message, path };
}

/** Thrown only for invariant violations: the process must not continue with a broken state. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertNever(value: never): never {
  throw new AssertionError(`unexpected value ${JSON.stringify(value)}`);
}

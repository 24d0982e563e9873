/**
 * A client that goes away mid-request (closing the connection while its body is still coming,
 * or before its answer is written) is not the node failing: it is logged at debug level,
 * without a stack, and counted in the metrics with status 499 (nginx's "client closed
 * request"), never as a 500.
 */

/** The status a request the client abandoned is counted with. */
export const CLIENT_CLOSED_STATUS = 499;

/** The request's connection closed before its body ended. */
export class ClientAborted extends Error {
  constructor(message = 'the client closed the connection before the request ended') {
    super(message);
    this.name = 'ClientAborted';
  }
}

/** Node's codes for a peer that went away (a reset, a closed pipe, a stream closed early). */
const GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'ABORT_ERR']);

/** Whether `error` says the client went away (rather than that the node failed). */
export function isClientAbort(error: unknown): boolean {
  if (error instanceof ClientAborted) return true;
  if (typeof error !== 'object' || error === null) return false;
  const { code, name } = error as { code?: unknown; name?: unknown };
  return (typeof code === 'string' && GONE.has(code)) || name === 'AbortError';
}

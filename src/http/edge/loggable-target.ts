/**
 * A request target as logs may hold it: the values of query parameters that carry credentials
 * (a session's `token`, a stream `ticket`; EventSource cannot send headers, so browsers put them
 * in the URL) are replaced, so an error or abort logged with its URL does not leak them to
 * whoever reads the logs. Everything else stays, for debugging.
 */
const CREDENTIAL_PARAM = /([?&](?:token|ticket)=)[^&#]*/gi;

export function loggableTarget(target: string): string {
  return target.includes('=') ? target.replace(CREDENTIAL_PARAM, '$1REDACTED') : target;
}

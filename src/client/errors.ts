/** The client's one error type: a server error body (`{code, zkCode, message}`) or a failover that found no node. */

export class CorralError extends Error {
  constructor(readonly status: number, readonly code: string, readonly zkCode: number, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'CorralError';
  }
}

/** ZooKeeper's CONNECTIONLOSS: what a client sees when it could not reach a serving node. */
export const CONNECTIONLOSS = { code: 'CONNECTIONLOSS', zkCode: -4 } as const;

/** Reads a response's error body into a CorralError (any body: JSON per the contract, or text). */
export async function errorFromResponse(response: Response): Promise<CorralError> {
  const text = await response.text().catch(() => '');
  let body: { code?: string; zkCode?: number; message?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not the contract's JSON body (a proxy's page, say): keep the text as the message
  }
  return new CorralError(response.status, body.code ?? 'SYSTEMERROR', body.zkCode ?? -1, body.message ?? (text || response.statusText));
}

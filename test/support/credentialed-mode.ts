/**
 * The credentialed rerun of the HTTP suites: with `CORRAL_TEST_CREDENTIALS=user:password` in the
 * environment, the in-process harnesses (test-node.ts, session/live-server.ts) start nodes with
 * --auth-required and send that Basic credential on every request that names none, so the same
 * specifications run against a locked-down node with an authenticated caller
 * (test/auth/credentialed-rerun.test.ts). Read at each start, not at import, so a rerun file can
 * set it before it loads the suites.
 */
import type { Config } from '../../src/config.ts';

export const CREDENTIALS_ENV = 'CORRAL_TEST_CREDENTIALS';

/** The Authorization header of the credentialed mode, or undefined when it is off. */
export function testAuthorization(): string | undefined {
  const credentials = process.env[CREDENTIALS_ENV];
  return credentials ? `Basic ${Buffer.from(credentials).toString('base64')}` : undefined;
}

/** What a harness adds to a node's configuration in the credentialed mode. */
export function credentialedOverrides(): Partial<Config> {
  return testAuthorization() === undefined ? {} : { authRequired: true };
}

/** `headers` with the mode's Authorization added, unless they carry one (any spelling). */
export function withTestAuthorization(headers: Record<string, string>): Record<string, string> {
  const authorization = testAuthorization();
  if (authorization === undefined || Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) return headers;
  return { ...headers, authorization };
}

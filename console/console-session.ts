/**
 * The console's own ZooKeeper session, opened on the first ephemeral create and kept alive by the
 * client's session stream while the page is open: the console's ephemerals live as long as the
 * tab does, as a zkCli's live as long as the shell.
 */
import { CorralSession } from '../src/client/session.ts';
import { client } from './api.ts';

const TIMEOUT_MS = 30_000;
let opening: Promise<CorralSession> | undefined;

export function consoleSession(): Promise<CorralSession> {
  opening ??= CorralSession.open(client, TIMEOUT_MS).catch((error: unknown) => {
    opening = undefined;
    throw error;
  });
  return opening;
}

/** The session, if one was opened (for the sessions panel). */
export async function openedSession(): Promise<CorralSession | undefined> {
  return opening?.catch(() => undefined);
}

/**
 * Sessions and their ephemerals (GET /v1/sessions, ZooKeeper's `cons`/`dump`), re-read every 2 s
 * like the cluster view: every live session with its timeout, the identities that opened it and
 * its ephemerals, each a link into the tree. Listing sessions is an operator's read: on a node
 * with a superuser only the superuser may (403 NOAUTH), and with --admin-listen it is served on
 * the admin listener only (404). The panel then says so and shows the console's own session
 * alone, through getEphemerals with its token (all a session's own token may list).
 */
import type { components } from '../src/client/api-types.ts';
import { describeError, getJson, isCode } from './api.ts';
import { openedSession } from './console-session.ts';
import { usePolling } from './polling.ts';
import type { TreeModel } from './tree-model.ts';

/** The answer's shape, as openapi.yaml describes it (the client's generated types). */
type SessionList = components['schemas']['SessionList'];

const PERIOD_MS = 2000;

type Open = (path: string) => void;

function Ephemerals({ id, paths, count, onOpen }: { id: string; paths: readonly string[]; count: number; onOpen: Open }) {
  return (
    <ul aria-label={`Ephemerals of session ${id}`} class="ephemerals">
      {count === 0 && <li class="hint">no ephemerals</li>}
      {paths.map((p) => (
        <li key={p}><a href={`#${p}`} onClick={(e) => { e.preventDefault(); onOpen(p); }}>{p}</a></li>
      ))}
      {count > paths.length && <li class="hint">and {count - paths.length} more not listed (past the first 100, or under nodes you may not read)</li>}
    </ul>
  );
}

/** When the listing is refused: the console's own session, if it opened one. */
function OwnSession({ onOpen }: { onOpen: Open }) {
  const { value, error } = usePolling(async () => {
    const own = await openedSession();
    if (own === undefined) return undefined;
    const { paths } = await getJson<{ paths: string[] }>(`/v1/sessions/${own.id}/ephemerals`, { headers: own.headers });
    return { id: own.id, paths };
  }, PERIOD_MS);
  if (error !== undefined) return <p class="error-text" role="alert">{describeError(error)}</p>;
  if (value === undefined) return <p class="hint">This console has no session yet (it opens one on its first ephemeral create).</p>;
  return (
    <div data-session={value.id}>
      <h3>Session {value.id} (this console)</h3>
      <Ephemerals id={value.id} paths={value.paths} count={value.paths.length} onOpen={onOpen} />
    </div>
  );
}

export function SessionsPanel({ tree, onOpen }: { tree: TreeModel; onOpen: Open }) {
  const { value, error, at } = usePolling(async () => {
    const list = await getJson<SessionList>('/v1/sessions');
    return { list, ownId: (await openedSession())?.id };
  }, PERIOD_MS);
  const open: Open = (path) => void tree.reveal(path).then(() => onOpen(path));

  const refusal = isCode(error, 'NOAUTH')
    ? 'Listing every session needs the superuser (log in as it): it shows who is connected.'
    : isCode(error, 'UNIMPLEMENTED') ? 'The sessions listing is served on the admin listener (--admin-listen), not on this address.' : undefined;
  if (refusal !== undefined) {
    return (
      <div class="sessions">
        <p class="hint" role="status" data-testid="sessions-refused">{refusal} Only this console's own session is shown.</p>
        <OwnSession onOpen={open} />
      </div>
    );
  }
  const sessions = value?.list.sessions ?? [];
  return (
    <div class="sessions" data-testid="sessions">
      {error !== undefined && <p class="error-text" role="alert">{describeError(error)}</p>}
      {value && (
        <p class="hint">
          {sessions.length} live session{sessions.length === 1 ? '' : 's'}{value.list.more ? ' (the first page)' : ''}
          {at && ` — read ${at.toLocaleTimeString()}`}
        </p>
      )}
      <ul aria-label="Live sessions" class="session-list">
        {sessions.map((s) => (
          <li key={s.id} data-session={s.id}>
            <h3>Session {s.id}{s.id === value?.ownId ? ' (this console)' : ''}</h3>
            <p class="hint">timeout {s.timeoutMs} ms · opened by {s.identities.length === 0 ? 'anonymous' : s.identities.join(', ')}</p>
            <Ephemerals id={s.id} paths={s.ephemerals} count={s.ephemeralCount} onOpen={open} />
          </li>
        ))}
      </ul>
    </div>
  );
}

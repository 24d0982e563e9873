/**
 * Sessions and their ephemerals (GET /v1/sessions, ZooKeeper's `cons`/`dump`), re-read every 2 s
 * like the cluster view: every live session with its timeout, the identities that opened it and
 * its ephemerals, each a link into the tree. Listing sessions is an operator's read: on a node
 * with a superuser only the superuser may (403 NOAUTH), and with --admin-listen it is served on
 * the admin listener only (404). The panel then says so and shows the console's own session
 * alone, through getEphemerals with its token (all a session's own token may list).
 * The listing comes a page at a time (`?limit=`, `?after=<last id>`): the panel shows one page,
 * with "Next page" while the node says `more`, and "Previous page" back along the pages seen.
 */
import { useState } from 'preact/hooks';
import type { components } from '../src/client/api-types.ts';
import { describeError, getJson, isCode } from './api.ts';
import { openedSession } from './console-session.ts';
import { usePolling } from './polling.ts';
import type { TreeModel } from './tree-model.ts';

/** The answer's shape, as openapi.yaml describes it (the client's generated types). */
type SessionList = components['schemas']['SessionList'];

const PERIOD_MS = 2000;
/** Page sizes offered; 100 is the node's default. */
const PAGE_SIZES = [20, 100, 500] as const;
const PAGE_SIZE_DEFAULT = 100;

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
  const [limit, setLimit] = useState<number>(PAGE_SIZE_DEFAULT);
  // The `after` cursor of each page shown so far: the last is this page's (undefined: the first).
  const [cursors, setCursors] = useState<ReadonlyArray<string | undefined>>([undefined]);
  const after = cursors.at(-1);
  const { value, error, at } = usePolling(async () => {
    const query = new URLSearchParams({ limit: String(limit) });
    if (after !== undefined) query.set('after', after);
    const list = await getJson<SessionList>(`/v1/sessions?${query}`);
    return { list, ownId: (await openedSession())?.id };
  }, PERIOD_MS, [limit, after]);
  const open: Open = (path) => void tree.reveal(path).then(() => onOpen(path));

  const refusal = isCode(error, 'NOAUTH')
    // The node's own reason: who may list depends on its options (operator-only.ts), not only on a superuser.
    ? `Listing every session is for operators, as it shows who is connected. ${describeError(error).replace(/\.$/, '')}.`
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
  const page = cursors.length;
  const lastId = sessions.at(-1)?.id;
  return (
    <div class="sessions" data-testid="sessions">
      {error !== undefined && <p class="error-text" role="alert">{describeError(error)}</p>}
      <div class="actions">
        <label>Per page{' '}
          <select value={limit} onChange={(e) => { setLimit(Number((e.target as HTMLSelectElement).value)); setCursors([undefined]); }}>
            {PAGE_SIZES.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </label>
        {page > 1 && <button type="button" onClick={() => setCursors(cursors.slice(0, -1))}>Previous page</button>}
        {value?.list.more && lastId !== undefined && <button type="button" onClick={() => setCursors([...cursors, lastId])}>Next page</button>}
      </div>
      {value && (
        <p class="hint" data-testid="sessions-page">
          Page {page}: {sessions.length} live session{sessions.length === 1 ? '' : 's'}{value.list.more ? ', more follow' : ''}
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

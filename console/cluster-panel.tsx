/**
 * The ensemble as this node sees it (GET /v1/cluster), re-read every 2 s: members, roles, lag,
 * the leader, and which peer links are up. With --admin-listen the endpoint is served on the
 * admin listener only, and the panel says so.
 */
import type { components } from '../src/client/api-types.ts';
import { describeError, getJson, isCode } from './api.ts';
import { usePolling } from './polling.ts';

/** The answer's shape, as openapi.yaml describes it (the client's generated types). */
type Cluster = components['schemas']['Cluster'];

const PERIOD_MS = 2000;

export function ClusterPanel() {
  const { value, error, at } = usePolling(() => getJson<Cluster>('/v1/cluster'), PERIOD_MS);
  if (isCode(error, 'UNIMPLEMENTED')) {
    return <p class="hint" data-testid="cluster-admin">The cluster view is served on the admin listener (--admin-listen), not on this address.</p>;
  }
  return (
    <div class="cluster" data-testid="cluster">
      {error !== undefined && <p class="error-text" role="alert">{describeError(error)}</p>}
      {value && (
        <>
          <dl class="facts">
            <dt>this member</dt><dd data-testid="cluster-self">{value.self} ({value.role})</dd>
            <dt>leader</dt><dd data-testid="cluster-leader">{value.leader ?? 'none'}</dd>
            <dt>epoch</dt><dd>{value.epoch}</dd>
            <dt>last / commit zxid</dt><dd>{value.lastZxid} / {value.commitZxid}</dd>
          </dl>
          <table>
            <caption>Members {at && <span class="hint">(read {at.toLocaleTimeString()})</span>}</caption>
            <thead><tr><th scope="col">id</th><th scope="col">address</th><th scope="col">role</th><th scope="col">lag</th><th scope="col">link</th></tr></thead>
            <tbody>
              {value.members.map((m) => (
                <tr key={m.id} class={m.id === value.leader ? 'leader' : ''} data-member={m.id}>
                  <td>{m.id}{m.id === value.self ? ' (this)' : ''}</td><td>{m.address}</td><td data-role>{m.role}</td>
                  <td>{m.lag ?? '?'}</td><td>{m.connected ? 'up' : 'down'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

/** A handful of the node's Prometheus metrics (GET /metrics), re-read every 5 s. */
import { describeError, getText, isCode } from './api.ts';
import { parseMetrics } from './metrics-text.ts';
import { usePolling } from './polling.ts';

const SHOWN: ReadonlyArray<[string, string]> = [
  ['corral_znodes', 'znodes'],
  ['corral_applied_zxid', 'applied zxid'],
  ['corral_txns_applied_total', 'transactions applied'],
  ['corral_raft_term', 'term (epoch)'],
  ['corral_raft_leader', 'leader id'],
  ['corral_raft_leader_changes_total', 'leader changes'],
  ['corral_log_entries', 'log entries since checkpoint'],
  ['corral_http_requests_total', 'HTTP requests'],
  ['corral_limit_refusals_total', 'refused by limits'],
  ['process_resident_memory_bytes', 'resident memory (bytes)'],
];

export function MetricsPanel() {
  const { value, error } = usePolling(async () => parseMetrics(await getText('/metrics')), 5000);
  if (isCode(error, 'UNIMPLEMENTED')) return <p class="hint">Metrics are served on the admin listener (--admin-listen), not on this address.</p>;
  return (
    <div class="metrics">
      {error !== undefined && <p class="error-text" role="alert">{describeError(error)}</p>}
      {value && (
        <table data-testid="metrics">
          <caption>Key metrics</caption>
          <tbody>
            {SHOWN.filter(([name]) => value.has(name)).map(([name, label]) => (
              <tr key={name}><th scope="row" title={name}>{label}</th><td>{value.get(name)!.toLocaleString('en')}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

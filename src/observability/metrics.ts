/**
 * Prometheus metrics (prom-client), one registry per node so several nodes can share a process
 * (tests, simulation). Gauges that mirror state are read at scrape time, not on the hot path.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DurationHistogram } from './duration-histogram.ts';

export interface MetricsSources {
  znodeCount(): number;
  logEntries(): number;
  appliedZxid(): number;
}

/** What the replication metrics read at scrape time. */
export interface ClusterSources {
  status(): { role: string; term: number; leader: number; commitIndex: number; appliedIndex: number; lastIndex: number };
  /** Entries each follower lacks behind the leader's log (only on the leader). */
  followerLag(): ReadonlyMap<number, number>;
  /** Whether this member's link to each peer is up. */
  peersConnected(): ReadonlyMap<number, boolean>;
}

/** One request series: its counter child, the requests not yet added to it, its latency child. */
interface RequestSeries {
  readonly count: { inc(by: number): void };
  unscraped: number;
  readonly duration: { observe(seconds: number): void };
}

const ROLES = ['leader', 'follower', 'candidate', 'precandidate'] as const;

/**
 * The limits a request or connection can be refused by (429 THROTTLEDOP, or a closed connection):
 * the label of corral_limit_refusals_total. A fixed set, never the caller: callers are unbounded.
 */
export const LIMIT_KINDS = [
  'sessions', 'sessions_per_caller', 'streams', 'streams_per_caller', 'watches_per_session',
  'connections_per_address', 'requests_per_caller',
] as const;
export type LimitKind = (typeof LIMIT_KINDS)[number];

export class Metrics {
  readonly registry = new Registry();
  /** Request counts are kept in `requestSeries` and added to the counter when it is scraped. */
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration = new DurationHistogram(
    'corral_http_request_duration_seconds', 'HTTP request latency by route', ['method', 'route'],
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], this.registry,
  );
  readonly fsyncDuration = new Histogram({
    name: 'corral_log_fsync_duration_seconds', help: 'Time to durably append one batch to the log',
    registers: [this.registry], buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
  });
  readonly batchEntries = new Histogram({
    name: 'corral_log_batch_entries', help: 'Entries per group-committed batch',
    registers: [this.registry], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024],
  });
  readonly checkpointDuration = new Histogram({
    name: 'corral_checkpoint_duration_seconds', help: 'Time to write one checkpoint of the tree',
    registers: [this.registry], buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  readonly txnsApplied = new Counter({
    name: 'corral_txns_applied_total', help: 'Transactions applied to the tree', registers: [this.registry],
  });

  readonly elections = new Counter({
    name: 'corral_raft_elections_total', help: 'Elections this member started (it became a candidate)', registers: [this.registry],
  });
  readonly leaderChanges = new Counter({
    name: 'corral_raft_leader_changes_total', help: 'Times this member saw the leader change (or become unknown)', registers: [this.registry],
  });
  /** Refusals by limit kind (docs/security.md, "Limits per caller"). */
  readonly limitRefusals = new Counter({
    name: 'corral_limit_refusals_total', help: 'Requests (429 THROTTLEDOP) and connections (closed) refused by a limit, by limit',
    labelNames: ['limit'] as const, registers: [this.registry],
  });

  /** A request or connection was refused by `limit`. */
  limitRefused(limit: LimitKind): void {
    this.limitRefusals.inc({ limit });
  }

  /** Labelled children by `method route status`: prom-client hashes the labels on every call otherwise. */
  private readonly requestSeries = new Map<string, RequestSeries>();

  /** One HTTP request answered: its count by route and status, its latency by route. */
  recordRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let series = this.requestSeries.get(key);
    if (!series) {
      series = { count: this.httpRequests.labels(method, route, String(status)), unscraped: 0, duration: this.httpDuration.labels(method, route) };
      this.requestSeries.set(key, series);
    }
    series.unscraped++;
    series.duration.observe(seconds);
  }

  constructor(sources: MetricsSources) {
    const requestSeries = this.requestSeries;
    this.httpRequests = new Counter({
      name: 'corral_http_requests_total', help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'] as const, registers: [this.registry],
      collect() {
        for (const series of requestSeries.values()) {
          if (series.unscraped === 0) continue;
          series.count.inc(series.unscraped);
          series.unscraped = 0;
        }
      },
    });
    new Gauge({
      name: 'corral_znodes', help: 'Znodes in the tree', registers: [this.registry],
      collect() { this.set(sources.znodeCount()); },
    });
    new Gauge({
      name: 'corral_log_entries', help: 'Entries in the log not yet covered by a checkpoint',
      registers: [this.registry], collect() { this.set(sources.logEntries()); },
    });
    new Gauge({
      name: 'corral_applied_zxid', help: 'Last zxid applied (as a float; exact below 2^53)',
      registers: [this.registry], collect() { this.set(sources.appliedZxid()); },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'corral_' });
    // Every kind shows from the first scrape, at 0: a dashboard's rate() needs the series to exist.
    for (const limit of LIMIT_KINDS) this.limitRefusals.inc({ limit }, 0);
  }

  /** Replication gauges: role, term, commit and apply points, lag per follower, peer links. */
  watchCluster(sources: ClusterSources): void {
    const registers = [this.registry];
    new Gauge({
      name: 'corral_raft_role', help: '1 for this member\'s current role', labelNames: ['role'] as const, registers,
      collect() { const { role } = sources.status(); for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0); },
    });
    new Gauge({ name: 'corral_raft_term', help: 'Current term (ZooKeeper\'s epoch)', registers, collect() { this.set(sources.status().term); } });
    new Gauge({ name: 'corral_raft_leader', help: 'Id of the leader this member follows (0: none known)', registers, collect() { this.set(sources.status().leader); } });
    new Gauge({ name: 'corral_raft_commit_index', help: 'Highest log index known committed', registers, collect() { this.set(sources.status().commitIndex); } });
    new Gauge({ name: 'corral_raft_applied_index', help: 'Highest log index applied to the tree', registers, collect() { this.set(sources.status().appliedIndex); } });
    new Gauge({
      name: 'corral_raft_follower_lag_entries', help: 'On the leader: entries each follower lacks', labelNames: ['peer'] as const, registers,
      collect() { this.reset(); for (const [peer, lag] of sources.followerLag()) this.set({ peer: String(peer) }, lag); },
    });
    new Gauge({
      name: 'corral_peer_connected', help: '1 while the link to a peer is up', labelNames: ['peer'] as const, registers,
      collect() { for (const [peer, up] of sources.peersConnected()) this.set({ peer: String(peer) }, up ? 1 : 0); },
    });
  }
}

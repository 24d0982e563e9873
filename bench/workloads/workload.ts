/** What a workload is and the result row every workload produces (the JSON file's rows). */
import type { Deployment, StartOptions, Target } from '../targets/target.ts';

export interface Settings {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly maxOps: number;
  /** Tiny counts (watchers, znodes) for the smoke test. */
  readonly quick: boolean;
  readonly workDir: string;
  /** Corral's checkout when not this repository. */
  readonly corralRoot?: string;
  readonly profileDir?: string;
  readonly log: (line: string) => void;
}

export type RowStatus = 'ok' | 'missing' | 'not-available' | 'failed';
export type WorkloadKind = 'throughput' | 'watch' | 'memory';

export interface ResultRow {
  readonly target: string;
  readonly nodes: number;
  readonly workload: string;
  readonly kind: WorkloadKind;
  readonly status: RowStatus;
  readonly reason?: string;
  /** Requests in flight (throughput), watchers (watch), znodes (memory). */
  readonly concurrency: number;
  /** Ops measured (throughput), events delivered (watch), znodes loaded (memory). */
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly errors: number;
  readonly extra: Readonly<Record<string, number | string>>;
}

export type Measured = Omit<ResultRow, 'target' | 'nodes' | 'workload' | 'kind' | 'status' | 'reason' | 'concurrency'> & {
  /** The concurrency actually used when it differs from the workload's nominal one (--quick). */
  readonly concurrency?: number;
};

export interface RunContext {
  readonly target: Target;
  readonly settings: Settings;
  /** The running deployment, for workloads that share one (throughput, watch). */
  readonly deployment?: Deployment;
}

export interface Workload {
  readonly name: string;
  readonly kind: WorkloadKind;
  readonly concurrency: number;
  /** Memory workloads start (and stop) deployments of their own; they run on 1-member targets only. */
  readonly ownsDeployment: boolean;
  run(context: RunContext): Promise<Measured>;
}

/** What every target start takes from the settings. */
export function startOptions(settings: Settings): StartOptions {
  return {
    workDir: settings.workDir,
    ...(settings.profileDir ? { profileDir: settings.profileDir } : {}),
    ...(settings.corralRoot ? { corralRoot: settings.corralRoot } : {}),
  };
}

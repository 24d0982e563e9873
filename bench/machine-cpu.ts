/**
 * CPU time the whole machine spent busy (from /proc/stat), so a workload can say how much of the
 * machine other processes used while it was measured: this is a shared 2-core box.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

const CLOCK_TICKS_PER_SEC = 100;

/** Busy CPU seconds summed over all cores since boot (everything but idle and iowait); 0 when unknown. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user).
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - ticks[3]! - ticks[4]!) / CLOCK_TICKS_PER_SEC;
  } catch {
    return 0;
  }
}

export interface CpuUse {
  /** CPU seconds of the measured target's processes. */
  readonly serverSeconds: number;
  /** CPU seconds of this process: the load generator. */
  readonly clientSeconds: number;
  /** Share (0-100) of the whole machine that everything else used: the contention this run saw. */
  readonly othersPct: number;
}

/**
 * CPU use over a window: `open()` then `close()`. `serverSeconds` reads the target's processes;
 * `allServersSeconds` every server the bench runs (idle ones included), so that "others" is only
 * what does not belong to this bench.
 */
export class CpuWindow {
  private start: { server: number; allServers: number; client: number; machine: number; atMs: number } | undefined;

  constructor(private readonly serverSeconds: () => number, private readonly allServersSeconds: () => number) {}

  private sample() {
    const own = process.cpuUsage();
    return {
      server: this.serverSeconds(), allServers: this.allServersSeconds(), client: (own.user + own.system) / 1e6,
      machine: machineBusySeconds(), atMs: performance.now(),
    };
  }

  open(): void {
    this.start = this.sample();
  }

  close(): CpuUse {
    const end = this.sample();
    const start = this.start ?? end;
    const seconds = Math.max(1e-3, (end.atMs - start.atMs) / 1000);
    const others = (end.machine - start.machine) - (end.allServers - start.allServers) - (end.client - start.client);
    return {
      serverSeconds: end.server - start.server, clientSeconds: end.client - start.client,
      othersPct: (100 * Math.max(0, others)) / seconds / cpus().length,
    };
  }
}

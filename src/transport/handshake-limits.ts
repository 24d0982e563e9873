/**
 * Who may hold an unauthenticated connection to the peer port, and how refusals are reported.
 *
 * Admission: at most `perSourceMax` handshakes in progress per source address, and at most
 * `globalMax` in all from addresses that are not a configured member's. A configured member's
 * address has its own slots outside the global cap, so a flood from elsewhere — however many
 * sockets it opens — never keeps the real members' dials out (a flood from a member's own address
 * is held to that address's slots). Refusal is a close on arrival: no TLS, no nonce, no buffer.
 *
 * Reporting: refusals and failed handshakes are counted by reason (a metric) and logged as one
 * summary line per source per interval with a count, not a line per socket: a flood of thousands
 * of sockets a second makes a few lines. Sources tracked per interval are bounded; the rest are
 * summed under 'other'.
 */
import { isIP } from 'node:net';
import type { Logger } from '../observability/logger.ts';

export const DEFAULT_PENDING_HANDSHAKES_PER_SOURCE = 8;
export const DEFAULT_PENDING_HANDSHAKES_MAX = 64;
/** Distinct sources summarised per interval; beyond it, refusals are summed under 'other'. */
const SOURCES_LOGGED_MAX = 64;

/** Why an inbound connection did not become a link (a label of the refused-handshakes metric). */
export const REFUSAL_REASONS = [
  'per-source', 'global', 'timeout', 'closed', 'tls', 'malformed', 'protocol', 'bad-mac', 'wrong-target', 'wrong-identity', 'unknown-member',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** '::ffff:10.0.0.1' and '10.0.0.1' are one source. */
export function sourceOf(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined) return 'unknown';
  return remoteAddress.startsWith('::ffff:') && isIP(remoteAddress.slice(7)) === 4 ? remoteAddress.slice(7) : remoteAddress;
}

export class HandshakeAdmission {
  private readonly bySource = new Map<string, number>();
  private fromOthers = 0;

  constructor(
    private readonly perSourceMax: number,
    private readonly globalMax: number,
    /** Sources that are configured members' addresses (outside the global cap). */
    private readonly memberSources: ReadonlySet<string>,
  ) {}

  /** Takes a slot for `source`, or says which limit refuses it. */
  admit(source: string): 'admitted' | 'per-source' | 'global' {
    const held = this.bySource.get(source) ?? 0;
    if (held >= this.perSourceMax) return 'per-source';
    const member = this.memberSources.has(source);
    if (!member && this.fromOthers >= this.globalMax) return 'global';
    this.bySource.set(source, held + 1);
    if (!member) this.fromOthers++;
    return 'admitted';
  }

  release(source: string): void {
    const held = this.bySource.get(source) ?? 0;
    if (held <= 0) return;
    if (held === 1) this.bySource.delete(source);
    else this.bySource.set(source, held - 1);
    if (!this.memberSources.has(source)) this.fromOthers--;
  }

  get pending(): number {
    let total = 0;
    for (const held of this.bySource.values()) total += held;
    return total;
  }
}

/** Counts refusals by reason forever, and by source until the next summary. */
export class RefusalLog {
  readonly counts: Record<RefusalReason, number> = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>;
  private window = new Map<string, Map<RefusalReason, number>>();
  private ticks = 0;

  constructor(private readonly logger: Logger, private readonly selfId: number, private readonly intervalTicks: number) {}

  get total(): number {
    return REFUSAL_REASONS.reduce((sum, reason) => sum + this.counts[reason], 0);
  }

  record(source: string, reason: RefusalReason): void {
    this.counts[reason]++;
    const key = this.window.has(source) || this.window.size < SOURCES_LOGGED_MAX ? source : 'other';
    const reasons = this.window.get(key) ?? new Map<RefusalReason, number>();
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    this.window.set(key, reasons);
  }

  /** Called every heartbeat: logs the interval's summary once `intervalTicks` have passed. */
  tick(): void {
    if (++this.ticks < this.intervalTicks) return;
    this.flush();
  }

  /** One line per source refused since the last summary. */
  flush(): void {
    this.ticks = 0;
    for (const [source, reasons] of this.window) {
      let count = 0;
      for (const n of reasons.values()) count += n;
      this.logger.warn({ event: 'peer-handshakes-refused', node: this.selfId, remote: source, count, reasons: Object.fromEntries(reasons) },
        `refused ${count} inbound peer connection(s) from ${source}`);
    }
    this.window = new Map();
  }
}

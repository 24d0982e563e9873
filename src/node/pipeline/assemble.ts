/**
 * The pipeline wired in one visible place (ZooKeeper's setupRequestProcessors): the leader's
 * side, a follower's forwarder over the link, and the Pipeline choosing between them. Used by
 * CorralNode and by the node simulation alike, so the simulation runs this very wiring.
 */
import type { Logger } from '../../observability/logger.ts';
import type { NodeHost } from '../node-host.ts';
import type { Timers } from '../timers.ts';
import { LeaderProposals, type LeaderLimits, type SessionLiveness } from './leader-proposals.ts';
import { Pipeline, type ProposalLink } from './pipeline.ts';
import { ProposalForwarder } from './proposal-forwarder.ts';

export interface PipelineParts {
  readonly host: NodeHost;
  readonly sessions: SessionLiveness;
  /** The peer link; undefined in a cluster of one. */
  readonly link: ProposalLink | undefined;
  readonly limits: LeaderLimits & { readonly minZxidWaitMs: number };
  readonly nowMs: () => number;
  readonly timers: Timers;
  readonly logger: Logger;
  /** The forwarder's id prefix (random by default; the simulation's comes from its seed). */
  readonly nonce?: string;
  /** How long an answered forward waits for this member to apply it; limits.minZxidWaitMs by default. */
  readonly appliedWaitMs?: number;
}

export function assemblePipeline(parts: PipelineParts): Pipeline {
  const { host, sessions, link, limits, nowMs, timers, logger } = parts;
  const leader = new LeaderProposals({ host, sessions, nowMs, limits });
  const forwarder = link && new ProposalForwarder({
    send: (to, id, request) => link.sendProposal(to, id, request), nowMs, timers,
    waitForApplied: (zxid, timeoutMs) => host.waitForApplied(zxid, timeoutMs), appliedWaitMs: parts.appliedWaitMs ?? limits.minZxidWaitMs,
    ...(parts.nonce === undefined ? {} : { nonce: parts.nonce }),
  });
  return new Pipeline({ status: () => host.status(), leader, forwarder, link, logger });
}

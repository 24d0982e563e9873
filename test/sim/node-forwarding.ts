/**
 * Forwarded proposals in the node simulation: each host incarnation gets the REAL pipeline
 * (src/node/pipeline/assemble.ts: the leader's side, the forwarder, the Pipeline), whose peer
 * link is the simulated network. A proposal and its answer travel as the binary peer frames
 * production sends (encoded at send, decoded at delivery, through src/node/peer-wire.ts), so
 * they are dropped, delayed, duplicated and reordered like Raft messages, lost when their
 * target crashes, and answered to an incarnation that may be gone. The pipeline's timers are
 * the incarnation's SimTimers, its ids' nonce comes from the seed: a seed replays exactly.
 */
import type { RaftMessage } from '../../src/core/consensus/messages.ts';
import type { NodeHost } from '../../src/node/node-host.ts';
import { decodeWire, encodeAnswerWire, encodeProposalWire, PeerWireError } from '../../src/node/peer-wire.ts';
import { assemblePipeline } from '../../src/node/pipeline/assemble.ts';
import type { Pipeline, ProposalLink } from '../../src/node/pipeline/pipeline.ts';
import type { SessionManager } from '../../src/node/session-manager.ts';
import type { Logger } from '../../src/observability/logger.ts';
import type { Prng } from '../support/prng.ts';
import type { SimMessage } from './network.ts';
import type { SimTimers } from './node-timers.ts';

/** A proposal or its answer on the simulated network: the frame's bytes, as a member sends them. */
export interface ForwardFrame extends SimMessage {
  readonly type: 'Proposal' | 'ProposalAnswer';
  readonly bytes: Uint8Array;
}

export type SimPeerMessage = RaftMessage | ForwardFrame;

export function isForwardFrame(message: SimPeerMessage): message is ForwardFrame {
  return message.type === 'Proposal' || message.type === 'ProposalAnswer';
}

/**
 * An answered forward waits this long for its member to apply the zxid, at most (an hour: the
 * request's deadline, on the simulated clock, is the bound that counts; no real timer ever fires).
 */
const APPLIED_WAIT_MS = 3_600_000;

export interface ForwardingCounts {
  /** Requests a follower forwarded to the leader; answered by it (any outcome but CONNECTIONLOSS); lost. */
  forwarded: number;
  answered: number;
  lost: number;
  /** Forwarded proposals a leader took, and deliveries it recognized as duplicates. */
  served: number;
  duplicates: number;
}

export interface ForwardingDeps {
  readonly send: (message: SimPeerMessage) => void;
  readonly nowMs: () => number;
  readonly limits: Parameters<typeof assemblePipeline>[0]['limits'];
  readonly logger: Logger;
  readonly rng: Prng;
}

export class SimForwarding {
  private readonly pipelines: Pipeline[] = [];

  constructor(private readonly deps: ForwardingDeps) {}

  /** A host incarnation's pipeline, its link on the network; its SessionManager orders through it. */
  pipelineOf(id: number, host: NodeHost, sessions: SessionManager, timers: SimTimers): Pipeline {
    const { nowMs, limits, logger, rng } = this.deps;
    const nonce = Array.from(rng.bytes(6), (b) => b.toString(16).padStart(2, '0')).join('');
    const pipeline = assemblePipeline({ host, sessions, link: this.linkOf(id), limits, nowMs, timers, logger, nonce, appliedWaitMs: APPLIED_WAIT_MS });
    sessions.useProposer(pipeline);
    this.pipelines.push(pipeline);
    return pipeline;
  }

  /** A frame arrived at a running member's pipeline; a frame it cannot read is a bug of the codec. */
  deliver(pipeline: Pipeline, frame: ForwardFrame): void {
    const decoded = decodeWire(frame.bytes);
    if (decoded instanceof PeerWireError) throw new Error(`a ${frame.type} from n${frame.from} did not decode: ${decoded.message}`);
    if (decoded.kind === 'Proposal') pipeline.receivedProposal(frame.from, decoded.id, decoded.request);
    else if (decoded.kind === 'ProposalAnswer') pipeline.receivedAnswer(frame.from, decoded.id, decoded.outcome);
    else throw new Error(`a ${frame.type} frame decoded as ${decoded.kind}`);
  }

  /** Every incarnation's counts, summed. */
  get counts(): ForwardingCounts {
    const total: ForwardingCounts = { forwarded: 0, answered: 0, lost: 0, served: 0, duplicates: 0 };
    for (const { counts } of this.pipelines) {
      for (const key of Object.keys(total) as Array<keyof ForwardingCounts>) total[key] += counts[key];
    }
    return total;
  }

  private linkOf(from: number): ProposalLink {
    const { send } = this.deps;
    return {
      sendProposal: (to, id, request) => {
        // The encoder's bytes are valid until its next encode: the frame keeps a copy.
        send({ type: 'Proposal', from, to, bytes: new Uint8Array(encodeProposalWire({ from, to, id, request })) });
        return 'sent';
      },
      sendAnswer: (to, id, outcome) => {
        send({ type: 'ProposalAnswer', from, to, bytes: new Uint8Array(encodeAnswerWire({ from, to, id, outcome })) });
      },
    };
  }
}

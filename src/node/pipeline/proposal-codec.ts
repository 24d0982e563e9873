/**
 * Proposals and their answers as JSON peer messages, for members that do not read binary frames
 * (the binary kinds are in src/node/peer-wire.ts). Bytes go as base64. Decoding checks every
 * field (proposal-values.ts) and answers a MalformedProposal value for anything else.
 */
import type { ProposalOutcome, ProposalRequest } from './proposal.ts';
import { BASE64_BYTES, MalformedProposal, plainOutcome, plainRequest, readOutcome, readRequest } from './proposal-values.ts';

/** Who sent it to whom, and the id the answer echoes (unique per sender incarnation: a nonce and a sequence number). */
export interface ProposalEnvelope {
  readonly from: number;
  readonly to: number;
  readonly id: string;
}

export type ProposalMessage = ProposalEnvelope & { readonly request: ProposalRequest };
export type ProposalAnswer = ProposalEnvelope & { readonly outcome: ProposalOutcome };

export const PROPOSAL_TYPE = 'Proposal';
export const ANSWER_TYPE = 'ProposalAnswer';

/** The longest id accepted (ours are a 12-hex-digit nonce, a dot and a sequence number). */
const ID_LENGTH_MAX = 64;

export function encodeProposalJson(message: ProposalMessage): unknown {
  const { from, to, id, request } = message;
  return { type: PROPOSAL_TYPE, from, to, id, request: plainRequest(request, BASE64_BYTES) };
}

export function encodeAnswerJson(message: ProposalAnswer): unknown {
  const { from, to, id, outcome } = message;
  return { type: ANSWER_TYPE, from, to, id, outcome: plainOutcome(outcome, BASE64_BYTES) };
}

/** The envelope of a message of `type`, or why it is not one. */
export function readEnvelope(raw: unknown, type: string): (ProposalEnvelope & Record<string, unknown>) | MalformedProposal {
  if (typeof raw !== 'object' || raw === null) return new MalformedProposal('not an object');
  const m = raw as Record<string, unknown>;
  if (m['type'] !== type) return new MalformedProposal(`not a ${type}`);
  const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!isCount(m['from']) || !isCount(m['to'])) return new MalformedProposal('from or to is not a member id');
  if (!isId(m['id'])) return new MalformedProposal('id is not a proposal id');
  return m as ProposalEnvelope & Record<string, unknown>;
}

export function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= ID_LENGTH_MAX;
}

export function decodeProposalJson(raw: unknown): ProposalMessage | MalformedProposal {
  const m = readEnvelope(raw, PROPOSAL_TYPE);
  if (m instanceof MalformedProposal) return m;
  const request = readRequest(m['request'], BASE64_BYTES);
  if (request instanceof MalformedProposal) return request;
  return { from: m.from, to: m.to, id: m.id, request };
}

export function decodeAnswerJson(raw: unknown): ProposalAnswer | MalformedProposal {
  const m = readEnvelope(raw, ANSWER_TYPE);
  if (m instanceof MalformedProposal) return m;
  const outcome = readOutcome(m['outcome'], BASE64_BYTES);
  if (outcome instanceof MalformedProposal) return outcome;
  return { from: m.from, to: m.to, id: m.id, outcome };
}

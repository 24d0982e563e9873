/**
 * The sequential model of one znode for the linearizability check of the node simulation: the
 * znode model of test/linearizability/model.ts (create at version 0, setData adds 1, versioned
 * delete) plus what sessions add: the owner of an ephemeral, and a session's close, which
 * deletes the path when (and only when) that session owns it. `check` is a multi's version check.
 *
 * Outputs name only what the client observed; fields left out are not compared. An output of
 * `{ ok: 'unknown' }` (outcome never learned) is unconstrained.
 */
import type { Model } from '../linearizability/model.ts';

export interface NodeState {
  readonly exists: boolean;
  readonly data: string;
  readonly version: number;
  /** The owning session of an ephemeral; 0 for a persistent node. */
  readonly owner: number;
}

export type NodeInput =
  | { readonly op: 'read'; readonly path: string }
  | { readonly op: 'write'; readonly path: string; readonly data: string }
  | { readonly op: 'cas'; readonly path: string; readonly data: string; readonly version: number }
  | { readonly op: 'create'; readonly path: string; readonly data: string; readonly owner: number }
  | { readonly op: 'delete'; readonly path: string; readonly version: number }
  | { readonly op: 'check'; readonly path: string; readonly version: number }
  /** closeSession, seen from one path: deletes it if `session` owns it. */
  | { readonly op: 'closeSession'; readonly path: string; readonly session: number };

export type NodeOutput =
  | { readonly ok: true; readonly exists?: boolean; readonly data?: string; readonly version?: number; readonly owner?: number }
  | { readonly ok: false; readonly code: string }
  | { readonly ok: 'unknown' };

const ABSENT: NodeState = Object.freeze({ exists: false, data: '', version: -1, owner: 0 });

type Applied = { readonly next: NodeState; readonly output: NodeOutput };

const fail = (state: NodeState, code: string): Applied => ({ next: state, output: { ok: false, code } });

function versioned(state: NodeState, expected: number): string | undefined {
  if (!state.exists) return 'NONODE';
  return expected !== -1 && expected !== state.version ? 'BADVERSION' : undefined;
}

/** What the server does with `input` on a node in `state`. */
export function applyNode(state: NodeState, input: NodeInput): Applied {
  switch (input.op) {
    case 'read':
      return {
        next: state,
        output: state.exists ? { ok: true, exists: true, data: state.data, version: state.version, owner: state.owner } : { ok: true, exists: false },
      };
    case 'check': {
      const error = versioned(state, input.version);
      return error ? fail(state, error) : { next: state, output: { ok: true } };
    }
    case 'write':
    case 'cas': {
      const error = versioned(state, input.op === 'cas' ? input.version : -1);
      if (error) return fail(state, error);
      const next = { ...state, data: input.data, version: state.version + 1 };
      return { next, output: { ok: true, version: next.version } };
    }
    case 'create':
      if (state.exists) return fail(state, 'NODEEXISTS');
      return { next: { exists: true, data: input.data, version: 0, owner: input.owner }, output: { ok: true, version: 0, owner: input.owner } };
    case 'delete': {
      const error = versioned(state, input.version);
      return error ? fail(state, error) : { next: ABSENT, output: { ok: true } };
    }
    case 'closeSession':
      return { next: state.exists && state.owner === input.session ? ABSENT : state, output: { ok: true } };
  }
}

/** Every field the client observed agrees with the server's reply. */
function matches(expected: NodeOutput, observed: NodeOutput): boolean {
  if (observed.ok === 'unknown') return true;
  if (observed.ok === false) return expected.ok === false && expected.code === observed.code;
  if (expected.ok !== true) return false;
  return (
    (observed.exists === undefined || observed.exists === (expected.exists ?? true)) &&
    (observed.data === undefined || observed.data === expected.data) &&
    (observed.version === undefined || observed.version === expected.version) &&
    (observed.owner === undefined || observed.owner === expected.owner)
  );
}

function describeState(state: NodeState): string {
  if (!state.exists) return '(absent)';
  return `${JSON.stringify(state.data)}@v${state.version}${state.owner ? ` owner ${state.owner}` : ''}`;
}

function describeOperation(input: NodeInput, output: NodeOutput): string {
  const { op, path, ...args } = input;
  const shown = Object.values(args).map((v) => JSON.stringify(v)).join(', ');
  return `${op}(${path}${shown ? `, ${shown}` : ''}) → ${JSON.stringify(output)}`;
}

/** Independent znodes, partitioned by path. */
export const nodeModel: Model<NodeState, NodeInput, NodeOutput> = {
  partition: (input) => input.path,
  init: () => ABSENT,
  step(state, input, output) {
    const applied = applyNode(state, input);
    return matches(applied.output, output) ? { ok: true, next: applied.next } : { ok: false, next: state };
  },
  stateKey: (s) => (s.exists ? `${s.version}:${s.owner}:${s.data}` : '-'),
  isReadOnly: (input) => input.op === 'read' || input.op === 'check',
  describeOperation,
  describeState,
};

/**
 * Sequential models for the linearizability checker (checker.ts), and the model of one znode.
 *
 * A model says, for a state, an operation's input and the output a client observed, whether that
 * output is what applying the input to the state would produce, and the state after it. The
 * znode model follows ZooKeeper: create sets data version 0, each successful setData adds 1,
 * a deleted node does not exist (and a recreated one starts at version 0 again); setData and
 * delete take an expected version, -1 meaning "any".
 *
 * An output of `{ ok: 'unknown' }` means the client never learned the outcome (connection
 * error, timeout): the output is unconstrained and the step applies the input as the server
 * would have. The checker gives such operations a return time of Infinity, so they may take
 * effect anywhere after their call or, placed after everything else, never.
 */

/** A deterministic sequential specification, partitioned by a key (P-compositionality). */
export interface Model<S, I, O> {
  /** Operations on different keys are independent; each key is checked separately. */
  partition?(input: I): string;
  /** The state of a partition before the history. */
  init(partition: string): S;
  /** Whether `output` is consistent with applying `input` to `state`, and the state after. */
  step(state: S, input: I, output: O): { ok: boolean; next: S };
  /** A canonical string for a state (memoization); JSON.stringify if absent. */
  stateKey?(state: S): string;
  /** Inputs that never change the state: with an unknown outcome they are dropped. */
  isReadOnly?(input: I): boolean;
  /** Human-readable forms, for failure explanations. */
  describeOperation?(input: I, output: O): string;
  describeState?(state: S): string;
}

export interface ZnodeState {
  readonly exists: boolean;
  readonly data: string;
  /** The data version (Stat.version); -1 when the node does not exist. */
  readonly version: number;
}

export type ZnodeInput =
  | { readonly op: 'read'; readonly path: string }
  /** setData with version -1: unconditional. */
  | { readonly op: 'write'; readonly path: string; readonly data: string }
  /** setData with an expected version. */
  | { readonly op: 'cas'; readonly path: string; readonly data: string; readonly version: number }
  | { readonly op: 'create'; readonly path: string; readonly data: string }
  /** `version` -1 deletes whatever the version. */
  | { readonly op: 'delete'; readonly path: string; readonly version: number };

export type ZnodeErrorCode = 'BADVERSION' | 'NONODE' | 'NODEEXISTS';

/**
 * Observed outputs. Reads report `exists` and, when it exists, `data` and `version`; setData
 * (write, cas) reports the new `version`; create may report `version` (0); delete reports `ok`.
 * Fields a client did not observe may be left out: only fields present are checked.
 * A read answered NONODE may be recorded as `{ ok: false, code: 'NONODE' }`.
 */
export type ZnodeOutput =
  | { readonly ok: true; readonly exists?: boolean; readonly data?: string; readonly version?: number }
  | { readonly ok: false; readonly code: ZnodeErrorCode }
  | { readonly ok: 'unknown' };

export const ABSENT: ZnodeState = Object.freeze({ exists: false, data: '', version: -1 });

export function present(data: string, version: number): ZnodeState {
  return { exists: true, data, version };
}

type Applied = { readonly next: ZnodeState; readonly output: ZnodeOutput };

const fail = (state: ZnodeState, code: ZnodeErrorCode): Applied => ({ next: state, output: { ok: false, code } });

function setData(state: ZnodeState, data: string, expected: number): Applied {
  if (!state.exists) return fail(state, 'NONODE');
  if (expected !== -1 && expected !== state.version) return fail(state, 'BADVERSION');
  const next = present(data, state.version + 1);
  return { next, output: { ok: true, version: next.version } };
}

/** What a ZooKeeper server does with `input` on a node in `state`: the state after and the reply. */
export function applyZnode(state: ZnodeState, input: ZnodeInput): Applied {
  switch (input.op) {
    case 'read':
      return {
        next: state,
        output: state.exists ? { ok: true, exists: true, data: state.data, version: state.version } : { ok: true, exists: false },
      };
    case 'write':
      return setData(state, input.data, -1);
    case 'cas':
      return setData(state, input.data, input.version);
    case 'create':
      if (state.exists) return fail(state, 'NODEEXISTS');
      return { next: present(input.data, 0), output: { ok: true, version: 0 } };
    case 'delete':
      if (!state.exists) return fail(state, 'NONODE');
      if (input.version !== -1 && input.version !== state.version) return fail(state, 'BADVERSION');
      return { next: ABSENT, output: { ok: true } };
  }
}

/** Whether every field the client observed agrees with the server's reply. */
export function outputMatches(input: ZnodeInput, expected: ZnodeOutput, observed: ZnodeOutput): boolean {
  if (observed.ok === 'unknown') return true;
  if (input.op === 'read' && observed.ok === false && observed.code === 'NONODE') {
    return expected.ok === true && expected.exists === false;
  }
  if (observed.ok !== expected.ok) return false;
  if (observed.ok === false) return expected.ok === false && observed.code === expected.code;
  if (expected.ok !== true) return false;
  return (
    (observed.exists === undefined || observed.exists === expected.exists) &&
    (observed.data === undefined || observed.data === expected.data) &&
    (observed.version === undefined || observed.version === expected.version)
  );
}

/** The znode step function: is `output` what applying `input` to `state` replies, and the state after. */
export function znodeStep(state: ZnodeState, input: ZnodeInput, output: ZnodeOutput): { ok: boolean; next: ZnodeState } {
  const applied = applyZnode(state, input);
  return outputMatches(input, applied.output, output) ? { ok: true, next: applied.next } : { ok: false, next: state };
}

export function describeZnodeState(state: ZnodeState): string {
  return state.exists ? `${JSON.stringify(state.data)}@v${state.version}` : '(absent)';
}

export function describeZnodeOperation(input: ZnodeInput, output: ZnodeOutput): string {
  const args =
    input.op === 'read' ? '' : input.op === 'delete' ? `v${input.version}` : input.op === 'cas' ? `${JSON.stringify(input.data)}, v${input.version}` : JSON.stringify(input.data);
  return `${input.op}(${input.path}${args === '' ? '' : ', ' + args}) → ${describeOutput(output)}`;
}

function describeOutput(output: ZnodeOutput): string {
  if (output.ok === 'unknown') return 'unknown';
  if (output.ok === false) return output.code;
  if (output.exists === false) return 'ok (absent)';
  const data = output.data === undefined ? '' : ` ${JSON.stringify(output.data)}`;
  const version = output.version === undefined ? '' : ` v${output.version}`;
  return `ok${data}${version}`;
}

export interface ZnodeModelOptions {
  /** Each path's state before the history; absent by default. */
  readonly initial?: (path: string) => ZnodeState;
}

/** The model of independent znodes, partitioned by path. */
export function znodeModel(options: ZnodeModelOptions = {}): Model<ZnodeState, ZnodeInput, ZnodeOutput> {
  return {
    partition: (input) => input.path,
    init: (path) => options.initial?.(path) ?? ABSENT,
    step: znodeStep,
    stateKey: (state) => (state.exists ? `${state.version}:${state.data}` : '-'),
    isReadOnly: (input) => input.op === 'read',
    describeOperation: describeZnodeOperation,
    describeState: describeZnodeState,
  };
}

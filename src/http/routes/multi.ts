/**
 * POST /v1/multi: a list of write ops applied all-or-nothing as one transaction, or a list of
 * reads (getData, getChildren) answered op by op. Mixing the two is refused, as ZooKeeper does.
 */
import type { Context, Handler } from 'hono';
import type { Caller, NodeNow } from '../../backend/backend.ts';
import { OPEN_ACL, parseAclJson, parseAclText, type Acl } from '../../core/acl/acl.ts';
import { ZK_CODES, zkError, type ZkError } from '../../core/errors.ts';
import type { WriteOp } from '../../core/tree/txn.ts';
import { CREATE_MODES, NO_TTL, type CreateMode } from '../../core/tree/znode.ts';
import { pathError } from '../../core/tree/path.ts';
import type { AppDeps } from '../app-deps.ts';
import { multiBodyLimit, readBody } from '../body.ts';
import { callerOfContext } from '../caller.ts';
import { childrenPage } from '../children-page.ts';
import { badRequest, errorBody, errorResponse, RequestRejected } from '../errors.ts';
import { answeredZxid } from '../reply.ts';
import { sessionOf } from '../session-context.ts';
import { decodeData, encodeData, parseEncoding, statJson } from '../values.ts';
import { commitWrite } from '../writes.ts';

const WRITE_OPS = ['create', 'delete', 'setData', 'check'] as const;
const READ_OPS = ['getData', 'getChildren'] as const;
const OPS_MAX = 1000;

type RawOp = Record<string, unknown>;

function field<T>(op: RawOp, name: string, type: 'string' | 'number', i: number): T | undefined {
  const value = op[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type || (type === 'number' && !Number.isInteger(value))) {
    throw badRequest(`ops[${i}].${name} must be ${type === 'number' ? 'an integer' : 'a string'}`);
  }
  return value as T;
}

function parseOps(body: unknown): RawOp[] {
  const ops = (body as { ops?: unknown } | null)?.ops;
  if (typeof body !== 'object' || body === null || !Array.isArray(ops)) {
    throw badRequest('body must be a JSON object with an "ops" array');
  }
  if (ops.length > OPS_MAX) throw badRequest(`a multi holds at most ${OPS_MAX} ops`);
  return ops.map((op: unknown, i) => {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) throw badRequest(`ops[${i}] must be an object`);
    const raw = op as RawOp;
    const kind = field<string>(raw, 'op', 'string', i);
    if (!kind || ![...WRITE_OPS, ...READ_OPS].includes(kind as never)) {
      throw badRequest(`ops[${i}].op must be one of ${[...WRITE_OPS, ...READ_OPS].join(', ')}`);
    }
    if (field<string>(raw, 'path', 'string', i) === undefined) throw badRequest(`ops[${i}].path is required`);
    return raw;
  });
}

function toWriteOp(raw: RawOp, i: number): WriteOp {
  const path = raw.path as string;
  const version = field<number>(raw, 'version', 'number', i) ?? -1;
  const encoding = parseEncoding(field<string>(raw, 'encoding', 'string', i)) ?? 'utf8';
  const data = decodeData(field<string>(raw, 'data', 'string', i) ?? '', encoding, path);
  switch (raw.op as (typeof WRITE_OPS)[number]) {
    case 'create': {
      const mode = field<string>(raw, 'mode', 'string', i) ?? 'persistent';
      if (!(CREATE_MODES as readonly string[]).includes(mode)) throw badRequest(`ops[${i}].mode "${mode}" is not a create mode`);
      return { type: 'create', path, data, mode: mode as CreateMode, ttlMs: field<number>(raw, 'ttl', 'number', i) ?? NO_TTL, acl: aclField(raw, path) };
    }
    case 'setData':
      return { type: 'setData', path, data, version };
    case 'delete':
      return { type: 'delete', path, version };
    case 'check':
      return { type: 'check', path, version };
  }
}

/** A create op's `acl`: JSON entries, or zkCli's compact text; the open ACL when absent. */
function aclField(raw: RawOp, path: string): Acl {
  const value = raw['acl'];
  if (value === undefined || value === null) return OPEN_ACL;
  const acl = typeof value === 'string' ? parseAclText(value, path) : parseAclJson(value, path);
  if ('code' in acl) throw new RequestRejected(acl);
  return acl;
}

function opResults(ops: readonly WriteOp[], failedOp: number, error: ZkError) {
  return ops.map((op, i) => {
    if (i < failedOp) return { op: op.type, code: 'OK', zkCode: 0 };
    if (i === failedOp) return { op: op.type, code: error.code, zkCode: ZK_CODES[error.code] };
    return { op: op.type, code: 'RUNTIMEINCONSISTENCY', zkCode: ZK_CODES.RUNTIMEINCONSISTENCY };
  });
}

export function multiHandlers(deps: AppDeps): { multi: Handler } {
  const bodyLimit = multiBodyLimit(deps.config.maxDataBytes);

  const multi = async (c: Context) => {
    const bytes = await readBody(c, bodyLimit);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      throw badRequest('body is not valid JSON');
    }
    const raw = parseOps(body);
    const reads = raw.filter((op) => (READ_OPS as readonly unknown[]).includes(op.op)).length;
    if (reads > 0 && reads < raw.length) throw badRequest('a multi is either all reads or all writes');
    if (reads > 0) return c.json({ results: await readOps(deps, raw, callerOfContext(c)) });
    const ops = raw.map(toWriteOp);
    const { outcome, zxid } = await commitWrite(deps, ops, true, sessionOf(c, deps), {
      header: (name) => c.req.header(name), caller: () => callerOfContext(c),
    });
    if (zxid !== undefined) answeredZxid.set(c, zxid);
    if (!outcome.ok) {
      return errorResponse(c, outcome.error, { failedOp: outcome.failedOp, results: opResults(ops, outcome.failedOp, outcome.error) });
    }
    return c.json({
      results: outcome.results.map((r) => {
        if (r.type === 'create') return { op: r.type, path: r.path, stat: statJson(r.stat) };
        if (r.type === 'setData') return { op: r.type, stat: statJson(r.stat) };
        return { op: r.type };
      }),
    });
  };
  return { multi };
}

/**
 * Every op's readNow is asked before any is awaited: the embedded store answers them all from one
 * state, a gateway batches them into one multiRead (one point of the ensemble's history).
 */
async function readOps(deps: AppDeps, raw: readonly RawOp[], caller: Caller) {
  const asked = raw.map((op) => {
    const path = op.path as string;
    return pathError(path) ? undefined : deps.backend.readNow(path, caller, op.op === 'getChildren' ? 'getChildren' : 'getData');
  });
  const nodes = asked.some((a) => a instanceof Promise) ? await Promise.all(asked) : (asked as Array<Exclude<(typeof asked)[number], Promise<unknown>>>);
  return raw.map((op, i) => readOp(deps, op, nodes[i]));
}

function readOp(deps: AppDeps, op: RawOp, node: NodeNow | ZkError | undefined) {
  const path = op.path as string;
  const invalid = pathError(path);
  const missing = invalid
    ? zkError('BADARGUMENTS', `invalid path: ${invalid}`, path)
    : node === undefined ? zkError('NONODE', `${path} does not exist`, path) : 'code' in node ? node : undefined;
  if (missing || !node || 'code' in node) return { op: op.op, ...errorBody(missing!), path };
  if (op.op === 'getChildren') {
    // Bounded like GET /v1/children: the first page, and `more` when names follow (page on there).
    const page = childrenPage(node.children(), { limit: deps.config.maxChildrenPerPage, after: undefined });
    return { op: op.op, path, children: page.children, ...(page.more ? { more: true } : {}) };
  }
  const force = typeof op.encoding === 'string' ? parseEncoding(op.encoding) : undefined;
  return { op: op.op, path, ...encodeData(node.data, force), stat: statJson(node.stat) };
}


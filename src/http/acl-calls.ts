/**
 * getACL and setACL over HTTP: `GET /v1/acl/{path}` answers the node's ACL and Stat (digest hashes
 * hidden from a caller without ADMIN, as ZooKeeper 3.9 does); `PUT /v1/acl/{path}?version=N` sets
 * it, N checked against the node's `aversion` (-1 or absent: any). The body of a PUT is the ACL as
 * JSON (`[{perms, scheme, id}]`, or `{"acl": [...]}`) or in zkCli's compact form.
 */
import { aclToJson, parseAclJson, parseAclText, type Acl } from '../core/acl/acl.ts';
import type { ZkError } from '../core/errors.ts';
import { badRequest, RequestRejected } from './errors.ts';
import { errorReply } from './reply.ts';
import { parseVersion, statJson } from './values.ts';
import { commitWrite } from './writes.ts';
import type { ZnodeCall } from './znode-calls.ts';
import { requestedPathOf, validZnodePath } from './znode-path.ts';

export const ACLS = '/v1/acl';

/** An ACL is a few entries: its body never needs more than this. */
const ACL_BODY_MAX = 64 * 1024;

export const getAcl: ZnodeCall = async (deps, req) => {
  const path = validZnodePath(requestedPathOf(req.rawPath, ACLS));
  const asked = deps.backend.getAcl(path, req.caller());
  const answer = asked instanceof Promise ? await asked : asked;
  if ('code' in answer) return errorReply(answer, req.method);
  return { status: 200, json: { path, acl: aclToJson(answer.acl), stat: statJson(answer.stat) } };
};

export const setAcl: ZnodeCall = async (deps, req) => {
  const path = requestedPathOf(req.rawPath, ACLS);
  const raw = req.query('version');
  const version = raw === undefined ? -1 : parseVersion(raw, path);
  const body = req.readBody(ACL_BODY_MAX);
  const acl = aclOfBody(body instanceof Uint8Array ? body : await body, path);
  const { outcome, zxid } = await commitWrite(deps, [{ type: 'setACL', path, acl, version }], false, req.session(), req);
  if (!outcome.ok) return { ...errorReply(outcome.error, req.method), zxid };
  const result = outcome.results[0]!;
  if (result.type !== 'setACL') throw new Error('setACL answered with another op');
  return { status: 200, json: { path, stat: statJson(result.stat) }, zxid };
};

function aclOfBody(bytes: Uint8Array, path: string): Acl {
  const text = Buffer.from(bytes).toString('utf8').trim();
  if (text === '') throw badRequest('the body is the ACL: JSON [{perms, scheme, id}] or scheme:id:perms,…', path);
  let acl: Acl | ZkError;
  if (text.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw badRequest('the body is not valid JSON', path);
    }
    acl = parseAclJson((json as { acl?: unknown }).acl, path);
  } else {
    acl = parseAclText(text, path);
  }
  if ('code' in acl) throw new RequestRejected(acl);
  return acl;
}

import { describe, expect, it } from 'vitest';
import {
  assertSpecCovers,
  deref,
  loadSpec,
  matchRoute,
  schemaValidator,
  specOperations,
  validateFetchResponse,
  validateResponse,
} from '../support/openapi.ts';

const JSON_HEADERS = { 'zk-zxid': '4294967305', 'content-type': 'application/json' };

function headers(extra: Record<string, string | undefined> = {}): Headers {
  const all: Record<string, string | undefined> = { ...JSON_HEADERS, ...extra };
  const h = new Headers();
  for (const [k, v] of Object.entries(all)) if (v !== undefined) h.set(k, v);
  return h;
}

const stat = {
  czxid: '4294967298',
  mzxid: '4294967305',
  pzxid: '4294967298',
  ctime: 1732400000000,
  mtime: 1732400123456,
  version: 2,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: '0',
  dataLength: 9,
  numChildren: 0,
};

const isError = (status: string): boolean => /^[45]/.test(status);

describe('openapi.yaml', () => {
  const spec = loadSpec();
  const ops = specOperations();

  it('is an OpenAPI 3.1 document', () => {
    expect(spec.openapi).toMatch(/^3\.1\./);
    expect(ops.length).toBeGreaterThan(0);
  });

  it('gives every operation a unique operationId, a summary, a description and a tag', () => {
    const ids = ops.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of ops) {
      expect(op.operationId, `${op.method} ${op.template}`).not.toBe('');
      expect(op.operation.summary, op.operationId).toBeTypeOf('string');
      expect(op.operation.description, op.operationId).toBeTypeOf('string');
      expect(op.operation.tags, op.operationId).toBeInstanceOf(Array);
    }
  });

  it('has the agreed operations', () => {
    const ids = new Set(ops.map((op) => op.operationId));
    const agreed = ['getData', 'exists', 'getStat', 'getChildren', 'create', 'setData', 'delete', 'getACL', 'setACL', 'multi', 'sync',
      'openSession', 'keepalive', 'closeSession', 'sessionEvents', 'addWatch', 'removeWatches', 'watchStream',
      'getCluster', 'healthz', 'readyz', 'metrics', 'getOpenApi', 'getDocs'];
    for (const id of agreed) expect(ids.has(id), id).toBe(true);
  });

  it('declares Zk-Zxid as a required header on every response', () => {
    for (const op of ops) {
      for (const status of Object.keys(op.operation.responses as object)) {
        const response = deref(`${op.pointer}/responses/${status}`).value;
        const zxid = deref(`${deref(`${op.pointer}/responses/${status}`).pointer}/headers/Zk-Zxid`).value;
        expect(response.headers, `${op.operationId} ${status}`).toHaveProperty('Zk-Zxid');
        expect(zxid.required, `${op.operationId} ${status}`).toBe(true);
      }
    }
  });

  it('declares 400 and 503 on every /v1 operation, and 429 on every write', () => {
    for (const op of ops.filter((o) => o.template.startsWith('/v1/'))) {
      const statuses = Object.keys(op.operation.responses as object);
      expect(statuses, op.operationId).toEqual(expect.arrayContaining(['400', '503']));
      // deleteRoot always answers 400 (deleting / is refused), so it cannot be throttled;
      // keepalive and removeWatches change no state through the log, so they are never queued.
      const isWrite = ['POST', 'PUT', 'DELETE'].includes(op.method) && !op.template.startsWith('/v1/sync')
        && !['deleteRoot', 'keepalive', 'removeWatches'].includes(op.operationId);
      if (isWrite) expect(statuses, op.operationId).toContain('429');
    }
  });

  it('accepts Zk-Min-Zxid on every /v1 operation', () => {
    for (const op of ops.filter((o) => o.template.startsWith('/v1/'))) {
      const params = [...((op.pathItem.parameters as object[]) ?? []), ...((op.operation.parameters as object[]) ?? [])];
      const names = params.map((p) => {
        const ref = (p as { $ref?: string }).$ref;
        return ref === undefined ? (p as { name: string }).name : deref(ref).value.name;
      });
      expect(names, op.operationId).toContain('Zk-Min-Zxid');
    }
  });

  it('gives every error a JSON Error body (HEAD: none) and every 503 a Retry-After', () => {
    for (const op of ops) {
      for (const status of Object.keys(op.operation.responses as object).filter(isError)) {
        const response = deref(`${op.pointer}/responses/${status}`).value;
        const content = response.content as Record<string, unknown> | undefined;
        if (op.method === 'HEAD') expect(content, `${op.operationId} ${status}`).toBeUndefined();
        else expect(Object.keys(content ?? {}), `${op.operationId} ${status}`).toEqual(['application/json']);
        if (status === '503') expect(response.headers, op.operationId).toHaveProperty('Retry-After');
      }
    }
  });

  it('compiles every response schema and validates every response example', () => {
    let examples = 0;
    for (const op of ops) {
      for (const status of Object.keys(op.operation.responses as object)) {
        const { pointer, value } = deref(`${op.pointer}/responses/${status}`);
        for (const [media, body] of Object.entries((value.content ?? {}) as Record<string, { example?: unknown }>)) {
          const validate = schemaValidator(`${pointer}/content/${media.replace(/\//g, '~1')}/schema`);
          if (body.example === undefined) continue;
          examples++;
          expect(validate(body.example), `${pointer} example: ${JSON.stringify(validate.errors)}`).toBe(true);
        }
      }
    }
    expect(examples).toBeGreaterThan(0);
  });

  it('declares 401 AUTHFAILED, 404 UNKNOWNSESSION and 410 SESSIONEXPIRED wherever a session acts', () => {
    const usesSession = (op: (typeof ops)[number]): boolean =>
      op.template.startsWith('/v1/sessions/') || JSON.stringify([op.pathItem.parameters, op.operation.parameters]).includes('SessionId');
    const acting = ops.filter(usesSession);
    expect(acting.map((op) => op.operationId)).toEqual(expect.arrayContaining(['getData', 'create', 'multi', 'keepalive', 'sessionEvents']));
    for (const op of acting) {
      const responses = op.operation.responses as Record<string, unknown>;
      expect(Object.keys(responses), op.operationId).toEqual(expect.arrayContaining(['401', '404', '410']));
      if (op.method === 'HEAD') continue;
      const codes = (status: string): string[] => {
        const { pointer } = deref(`${op.pointer}/responses/${status}`);
        const errors = ['AUTHFAILED', 'UNKNOWNSESSION', 'SESSIONEXPIRED', 'NONODE', 'NOWATCHER', 'THROTTLEDOP'];
        const validate = schemaValidator(`${pointer}/content/application~1json/schema`);
        return errors.filter((code) => validate({ code, zkCode: -1, message: 'm' }));
      };
      expect(codes('401'), op.operationId).toEqual(['AUTHFAILED']);
      expect(codes('404'), op.operationId).toContain('UNKNOWNSESSION');
      expect(codes('410'), op.operationId).toEqual(['SESSIONEXPIRED']);
    }
  });

  it('describes the identities: Basic, Bearer and client certificates, optional by default, the probes always open', () => {
    const schemes = spec.components.securitySchemes as Record<string, { type: string; scheme: string; bearerFormat?: string }>;
    expect(schemes.basicAuth).toMatchObject({ type: 'http', scheme: 'basic' });
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(schemes.mutualTLS).toMatchObject({ type: 'mutualTLS' });
    expect(spec.security).toEqual([{ basicAuth: [] }, { bearerAuth: [] }, { mutualTLS: [] }, {}]);
    const byId = new Map(ops.map((op) => [op.operationId, op]));
    for (const id of ['healthz', 'readyz']) expect(byId.get(id)!.operation.security, id).toEqual([{}]);
    // A session's event stream takes its token alone (EventSource sends no Authorization).
    expect(byId.get('sessionEvents')!.operation.security).toContainEqual({});
    for (const op of ops) {
      for (const requirement of (op.operation.security ?? spec.security) as Array<Record<string, unknown>>) {
        for (const name of Object.keys(requirement)) expect(schemes, `${op.operationId} ${name}`).toHaveProperty(name);
      }
    }
  });

  it('declares 401 AUTHFAILED with WWW-Authenticate on every operation', () => {
    for (const op of ops) {
      const responses = op.operation.responses as Record<string, unknown>;
      expect(Object.keys(responses), op.operationId).toContain('401');
      const { pointer, value } = deref(`${op.pointer}/responses/401`);
      expect(value.headers, op.operationId).toHaveProperty('WWW-Authenticate');
      if (op.method === 'HEAD') continue;
      const validate = schemaValidator(`${pointer}/content/application~1json/schema`);
      expect(validate({ code: 'AUTHFAILED', zkCode: -115, message: 'm' }), op.operationId).toBe(true);
      expect(validate({ code: 'NOAUTH', zkCode: -102, message: 'm' }), op.operationId).toBe(false);
    }
  });

  it('declares 403 NOAUTH on every znode read and write, multi and session-acting operation', () => {
    const checked = ops.filter((op) => /^\/v1\/(znodes|stat|children|acl|multi)(\/|$)/.test(op.template)
      || (op.template.startsWith('/v1/sessions/') && op.operationId !== 'sessionEvents'));
    expect(checked.map((op) => op.operationId)).toEqual(expect.arrayContaining(
      ['getData', 'exists', 'create', 'setData', 'delete', 'getStat', 'getChildren', 'getACL', 'setACL', 'multi',
        'keepalive', 'closeSession', 'addWatch', 'removeWatches', 'getEphemerals'],
    ));
    for (const op of checked) {
      expect(Object.keys(op.operation.responses as object), op.operationId).toContain('403');
      const { pointer, value } = deref(`${op.pointer}/responses/403`);
      expect(value.description, op.operationId).toMatch(/NOAUTH/);
      if (op.method === 'HEAD') continue;
      const validate = schemaValidator(`${pointer}/content/application~1json/schema`);
      const body = op.operationId === 'multi'
        ? { code: 'NOAUTH', zkCode: -102, message: 'm', failedOp: 0, results: [{ op: 'create', code: 'NOAUTH', zkCode: -102 }] }
        : { code: 'NOAUTH', zkCode: -102, message: 'm' };
      expect(validate(body), `${op.operationId}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('declares 400 INVALIDACL where an ACL is sent and 403 QUOTAEXCEEDED on the writes a quota limits', () => {
    const codesOf = (op: (typeof ops)[number], status: string): string[] => {
      const { pointer } = deref(`${op.pointer}/responses/${status}`);
      const validate = schemaValidator(`${pointer}/content/application~1json/schema`);
      return ['BADARGUMENTS', 'INVALIDACL', 'NOAUTH', 'QUOTAEXCEEDED'].filter((code) => validate({ code, zkCode: -1, message: 'm' }));
    };
    const byId = new Map(ops.map((op) => [op.operationId, op]));
    for (const id of ['create', 'createRoot', 'setACL', 'setACLRoot', 'multi']) expect(codesOf(byId.get(id)!, '400'), id).toContain('INVALIDACL');
    for (const id of ['getData', 'setData', 'delete']) expect(codesOf(byId.get(id)!, '400'), id).not.toContain('INVALIDACL');
    for (const id of ['create', 'createRoot', 'setData', 'setDataRoot', 'multi']) expect(codesOf(byId.get(id)!, '403'), id).toContain('QUOTAEXCEEDED');
    for (const id of ['getData', 'getACL', 'setACL', 'delete']) expect(codesOf(byId.get(id)!, '403'), id).toEqual(['NOAUTH']);
    const create = JSON.stringify(byId.get('create')!.operation.parameters);
    expect(create).toContain('#/components/parameters/ZkAcl');
  });

  it('describes ACLs as ZooKeeper writes them, JSON and compact', () => {
    const acl = schemaValidator('#/components/schemas/Acl');
    const entry = (perms: unknown, scheme = 'world', id = 'anyone') => ({ perms, scheme, id });
    expect(acl([entry('cdrwa'), entry('r', 'digest', 'bob:x'), entry(31, 'auth', ''), entry('ar', 'ip', '10.0.0.0/8')])).toBe(true);
    expect(acl([entry(0, 'jwt-group', 'admins'), entry('', 'x509', 'CN=alice,O=Example,C=US'), entry('w', 'jwt', 'alice')])).toBe(true);
    expect(acl([]), 'an empty ACL').toBe(false);
    expect(acl(Array.from({ length: 65 }, () => entry('r'))), '65 entries').toBe(false);
    expect(acl([entry(32)]), 'perms past ADMIN').toBe(false);
    expect(acl([entry('rx')]), 'a letter outside cdrwa').toBe(false);
    expect(acl([entry('r', 'sasl', 'bob')]), 'a scheme with no provider').toBe(false);
    expect(acl([{ perms: 'r', scheme: 'world' }]), 'no id').toBe(false);
    const shown = schemaValidator('#/components/schemas/AclEntry');
    expect(shown(entry('cdrwa'))).toBe(true);
    expect(shown(entry('rc')), 'getACL answers perms in zkCli order').toBe(false);
    expect(shown(entry(31)), 'getACL answers perms as letters').toBe(false);
    const text = schemaValidator('#/components/schemas/AclText');
    expect(text('digest:bob:fyVmFCwVbTJYrznoSu1koqYEYF0=:cdrwa,world:anyone:r')).toBe(true);
    expect(text('')).toBe(false);
    const op = schemaValidator('#/components/schemas/Op');
    expect(op({ op: 'create', path: '/a', acl: 'auth::cdrwa' })).toBe(true);
    expect(op({ op: 'create', path: '/a', acl: [entry('cdrwa')] })).toBe(true);
    expect(op({ op: 'create', path: '/a', acl: [] })).toBe(false);
  });

  it('validates the examples of the setACL body and the Zk-Acl header', () => {
    const body = deref('#/components/requestBodies/AclBody').value.content as Record<string, { example?: unknown; examples?: Record<string, { value: unknown }> }>;
    const json = schemaValidator('#/components/requestBodies/AclBody/content/application~1json/schema');
    const jsonExamples = Object.values(body['application/json']!.examples ?? {});
    expect(jsonExamples.length).toBeGreaterThan(1);
    for (const { value } of jsonExamples) expect(json(value), JSON.stringify(json.errors)).toBe(true);
    expect(json({ acl: [] })).toBe(false);
    expect(schemaValidator('#/components/requestBodies/AclBody/content/text~1plain/schema')(body['text/plain']!.example)).toBe(true);
    const header = deref('#/components/parameters/ZkAcl').value as { examples: Record<string, { value: string }> };
    const acl = schemaValidator('#/components/schemas/Acl');
    const text = schemaValidator('#/components/schemas/AclText');
    for (const { value } of Object.values(header.examples)) {
      expect(text(value), value).toBe(true);
      if (value.startsWith('[')) expect(acl(JSON.parse(value)), value).toBe(true);
    }
  });

  it('declares 429 THROTTLEDOP on every read that can set a watch', () => {
    const watching = ops.filter((op) => JSON.stringify(op.operation.parameters ?? []).includes('"#/components/parameters/Watch"'));
    expect(watching.map((op) => op.operationId).sort()).toEqual(
      ['exists', 'existsRoot', 'getChildren', 'getChildrenRoot', 'getData', 'getDataRoot', 'getStat', 'getStatRoot'],
    );
    for (const op of watching) expect(Object.keys(op.operation.responses as object), op.operationId).toContain('429');
  });

  it.each([
    ['the session event stream', '#/paths/~1v1~1sessions~1{id}~1events/get/responses/200', ['overflow', 'session', 'watch'], 'event: session'],
    ['the session-less watch stream', '#/paths/~1v1~1watch~1{path}/get/responses/200', ['overflow', 'reset', 'watch'], 'event: watch'],
  ])('describes %s: its example events match the x-sse-events schemas', (_name, responsePointer, names, lastEvent) => {
    const { pointer, value } = deref(responsePointer);
    const media = (value.content as Record<string, { example: string; 'x-sse-events': Record<string, { id: string }> }>)['text/event-stream']!;
    const kinds = media['x-sse-events'];
    expect(Object.keys(kinds).sort()).toEqual(names);
    const eventId = schemaValidator('#/components/schemas/EventId');
    const events = media.example.split('\n\n').map((block) => block.split('\n').filter((line) => line !== '' && !line.startsWith(':')))
      .filter((lines) => lines.length > 0);
    expect(events.length).toBeGreaterThan(1);
    for (const lines of events) {
      const fields = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]));
      const kind = kinds[fields.event!];
      expect(kind, lines.join(' | ')).toBeDefined();
      const validate = schemaValidator(`${pointer}/content/text~1event-stream/x-sse-events/${fields.event}/data`);
      expect(validate(JSON.parse(fields.data!)), `${fields.event}: ${JSON.stringify(validate.errors)}`).toBe(true);
      if (kind!.id === 'EventId') expect(eventId(fields.id), fields.id).toBe(true);
      else expect(fields.id).toBeUndefined();
    }
    expect(events.at(-1)![0]).toBe(lastEvent);
  });
});

describe('matchRoute', () => {
  const cases = [
    ['GET', '/v1/znodes', 'getDataRoot'],
    ['GET', '/v1/znodes/a', 'getData'],
    ['GET', '/v1/znodes/a/b/c?encoding=base64', 'getData'],
    ['GET', '/v1/znodes/a%2Fb', 'getData'],
    ['HEAD', '/v1/znodes/a/b', 'exists'],
    ['POST', '/v1/znodes/jobs/?mode=persistent_sequential', 'create'],
    ['PUT', '/v1/znodes/a/b', 'setData'],
    ['DELETE', '/v1/znodes/a', 'delete'],
    ['GET', '/v1/stat/a/b', 'getStat'],
    ['GET', '/v1/children', 'getChildrenRoot'],
    ['GET', '/v1/children/a/b', 'getChildren'],
    ['GET', '/v1/acl', 'getACLRoot'],
    ['GET', '/v1/acl/a/b', 'getACL'],
    ['HEAD', '/v1/acl/a', 'getACL'],
    ['PUT', '/v1/acl', 'setACLRoot'],
    ['PUT', '/v1/acl/a%2Fb?version=0', 'setACL'],
    ['POST', '/v1/multi', 'multi'],
    ['POST', '/v1/sync/a', 'sync'],
    ['GET', '/v1/cluster', 'getCluster'],
    ['POST', '/v1/sessions', 'openSession'],
    ['POST', '/v1/sessions/', 'openSession'],
    ['POST', '/v1/sessions/4294967298/keepalive', 'keepalive'],
    ['DELETE', '/v1/sessions/4294967298', 'closeSession'],
    ['GET', '/v1/sessions/4294967298/events?token=t&lastEventId=4294967305-0', 'sessionEvents'],
    ['POST', '/v1/sessions/4294967298/watches', 'addWatch'],
    ['DELETE', '/v1/sessions/4294967298/watches?path=/a&type=data', 'removeWatches'],
    ['GET', '/v1/watch', 'watchStreamRoot'],
    ['GET', '/v1/watch/app/jobs?recursive=true&fromZxid=4294967298', 'watchStream'],
    ['HEAD', '/healthz', 'healthz'],
    ['GET', '/metrics', 'metrics'],
  ] as const;

  it.each(cases)('maps %s %s to %s', (method, url, operationId) => {
    const match = matchRoute(method, url);
    expect(match.kind === 'operation' ? match.op.operationId : match.kind).toBe(operationId);
  });

  it('reports a known route with another method as method-not-allowed', () => {
    expect(matchRoute('PATCH', '/v1/znodes/a')).toMatchObject({ kind: 'method-not-allowed', allow: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] });
    expect(matchRoute('GET', '/v1/multi')).toMatchObject({ kind: 'method-not-allowed', allow: ['POST'] });
    expect(matchRoute('POST', '/v1/acl/a')).toMatchObject({ kind: 'method-not-allowed', allow: ['GET', 'PUT'] });
    expect(matchRoute('DELETE', '/v1/acl')).toMatchObject({ kind: 'method-not-allowed', allow: ['GET', 'PUT'] });
    expect(matchRoute('GET', '/v1/sessions/1')).toMatchObject({ kind: 'method-not-allowed', allow: ['DELETE'] });
    expect(matchRoute('GET', '/v1/sessions/1/watches')).toMatchObject({ kind: 'method-not-allowed', allow: ['POST', 'DELETE'] });
  });

  it('reports an unknown URL as unknown-route', () => {
    expect(matchRoute('GET', '/v2/znodes/a')).toEqual({ kind: 'unknown-route' });
    expect(matchRoute('GET', '/v1/znodesx')).toEqual({ kind: 'unknown-route' });
  });
});

describe('validateResponse', () => {
  const valid: Array<[string, string, string, number, Headers, unknown]> = [
    ['getData as JSON', 'GET', '/v1/znodes/app/config', 200, headers({ etag: '"2"' }), { path: '/app/config', data: 'mode=fast', encoding: 'utf8', stat }],
    ['getData as a JSON string body', 'GET', '/v1/znodes/a', 200, headers({ etag: '"2"', 'content-type': 'application/json; charset=UTF-8' }), JSON.stringify({ path: '/a', data: '', encoding: 'base64', stat })],
    ['getData as raw bytes', 'GET', '/v1/znodes/a', 200, headers({ etag: '"2"', 'content-type': 'application/octet-stream' }), new Uint8Array([0xff, 0])],
    ['getData NONODE', 'GET', '/v1/znodes/a', 404, headers(), { code: 'NONODE', zkCode: -101, message: 'no node', path: '/a' }],
    ['exists', 'HEAD', '/v1/znodes/a', 200, headers({ etag: '"0"', 'content-type': undefined }), null],
    ['exists on a missing node', 'HEAD', '/v1/znodes/a', 404, headers(), ''],
    ['HEAD on a GET-only route', 'HEAD', '/v1/stat/a', 200, headers(), null],
    ['getStat', 'GET', '/v1/stat/a', 200, headers(), { path: '/a', stat }],
    ['getChildren of the root', 'GET', '/v1/children', 200, headers(), { path: '/', children: ['a', 'zookeeper'], stat }],
    ['create', 'POST', '/v1/znodes/jobs/?mode=persistent_sequential', 201, headers({ location: '/v1/znodes/jobs/0000000007' }), { path: '/jobs/0000000007', stat }],
    ['create NODEEXISTS', 'POST', '/v1/znodes/a', 409, headers(), { code: 'NODEEXISTS', zkCode: -110, message: 'exists', path: '/a' }],
    ['create THROTTLEDOP', 'POST', '/v1/znodes/a', 429, headers({ 'retry-after': '1' }), { code: 'THROTTLEDOP', zkCode: -127, message: 'slow down' }],
    ['setData', 'PUT', '/v1/znodes/a?version=2', 200, headers({ etag: '"3"' }), { path: '/a', stat: { ...stat, version: 3 } }],
    ['setData NOAUTH', 'PUT', '/v1/znodes/zookeeper/config', 403, headers(), { code: 'NOAUTH', zkCode: -102, message: 'not allowed' }],
    ['setData too large', 'PUT', '/v1/znodes/a', 413, headers(), { code: 'BADARGUMENTS', zkCode: -8, message: 'data over 1048576 bytes' }],
    ['delete', 'DELETE', '/v1/znodes/a', 204, headers({ 'content-type': undefined }), undefined],
    ['delete of the root', 'DELETE', '/v1/znodes', 400, headers(), { code: 'BADARGUMENTS', zkCode: -8, message: 'cannot delete /', path: '/' }],
    ['a write multi', 'POST', '/v1/multi', 200, headers(), { results: [{ op: 'check' }, { op: 'create', path: '/j/0000000001', stat }, { op: 'setData', stat }, { op: 'delete' }] }],
    ['an empty multi', 'POST', '/v1/multi', 200, headers(), { results: [] }],
    ['a read-only multi', 'POST', '/v1/multi', 200, headers(), { results: [
      { op: 'getData', path: '/a', data: 'x', encoding: 'utf8', stat },
      { op: 'getChildren', path: '/', children: ['a'] },
      { op: 'getData', path: '/b', code: 'NONODE', zkCode: -101, message: 'no node' },
    ] }],
    ['a failed multi', 'POST', '/v1/multi', 409, headers(), { code: 'BADVERSION', zkCode: -103, message: 'bad version', path: '/a', failedOp: 1, results: [
      { op: 'create', code: 'OK', zkCode: 0 }, { op: 'check', code: 'BADVERSION', zkCode: -103 }, { op: 'delete', code: 'RUNTIMEINCONSISTENCY', zkCode: -2 },
    ] }],
    ['a multi mixing reads and writes', 'POST', '/v1/multi', 400, headers(), { code: 'BADARGUMENTS', zkCode: -8, message: 'mixed reads and writes' }],
    ['sync', 'POST', '/v1/sync/a', 200, headers(), { path: '/a', zxid: '4294967305' }],
    ['Zk-Min-Zxid not reached', 'GET', '/v1/stat/a', 503, headers({ 'retry-after': '1' }), { code: 'CONNECTIONLOSS', zkCode: -4, message: 'behind' }],
    ['cluster', 'GET', '/v1/cluster', 200, headers(), { self: 1, role: 'leader', leader: 1, epoch: 1, lastZxid: '4294967305', commitZxid: '4294967305',
      members: [{ id: 1, address: '127.0.0.1:8181', role: 'leader', lag: 0 }] }],
    ['cluster without a leader', 'GET', '/v1/cluster', 200, headers(), { self: 2, role: 'looking', leader: null, epoch: 0, lastZxid: '0', commitZxid: '0', members: [] }],
    ['healthz', 'GET', '/healthz', 200, headers(), { status: 'ok' }],
    ['readyz not ready', 'GET', '/readyz', 503, headers({ 'retry-after': '2' }), { code: 'CONNECTIONLOSS', zkCode: -4, message: 'no leader' }],
    ['metrics', 'GET', '/metrics', 200, headers({ 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }), '# HELP x\n'],
    ['the spec', 'GET', '/openapi.yaml', 200, headers({ 'content-type': 'application/yaml' }), 'openapi: 3.1.0\n'],
    ['the docs', 'GET', '/docs', 200, headers({ 'content-type': 'text/html; charset=UTF-8' }), '<!doctype html>'],
    ['getData that would exceed the watch limit', 'GET', '/v1/znodes/a', 429, headers({ 'retry-after': '1' }), { code: 'THROTTLEDOP', zkCode: -127, message: 'at most 10000 watches' }],
    ['exists that would exceed the watch limit', 'HEAD', '/v1/znodes/a', 429, headers({ 'retry-after': '1' }), null],
    ['getChildren without the session token', 'GET', '/v1/children/a', 401, headers(), { code: 'AUTHFAILED', zkCode: -115, message: 'wrong token' }],
    ['create for an unknown session', 'POST', '/v1/znodes/a?mode=ephemeral', 404, headers(), { code: 'UNKNOWNSESSION', zkCode: -12, message: 'not known' }],
    ['setData for an ended session', 'PUT', '/v1/znodes/a', 410, headers(), { code: 'SESSIONEXPIRED', zkCode: -112, message: 'session 4294967298 has expired' }],
    ['an ephemeral create', 'POST', '/v1/znodes/lock?mode=ephemeral', 201, headers({ location: '/v1/znodes/lock' }), { path: '/lock', stat: { ...stat, ephemeralOwner: '4294967298' } }],
    ['a multi whose session ended before it applied', 'POST', '/v1/multi', 410, headers(), { code: 'SESSIONEXPIRED', zkCode: -112, message: 'ended', failedOp: 0, results: [
      { op: 'create', code: 'SESSIONEXPIRED', zkCode: -112 },
    ] }],
    ['a multi for an ended session', 'POST', '/v1/multi', 410, headers(), { code: 'SESSIONEXPIRED', zkCode: -112, message: 'ended' }],
    ['a multi refused by a full write queue', 'POST', '/v1/multi', 429, headers({ 'retry-after': '1' }), { code: 'THROTTLEDOP', zkCode: -127, message: 'too many writes', failedOp: 0, results: [
      { op: 'delete', code: 'THROTTLEDOP', zkCode: -127 },
    ] }],
    ['a multi without a leader', 'POST', '/v1/multi', 503, headers({ 'retry-after': '1' }), { code: 'CONNECTIONLOSS', zkCode: -4, message: 'not the leader', failedOp: 0, results: [
      { op: 'check', code: 'CONNECTIONLOSS', zkCode: -4 },
    ] }],
    ['openSession', 'POST', '/v1/sessions', 201, headers({ location: '/v1/sessions/4294967298' }), { id: '4294967298', timeoutMs: 10000, token: 'c2VjcmV0' }],
    ['openSession with a bad body', 'POST', '/v1/sessions', 400, headers(), { code: 'BADARGUMENTS', zkCode: -8, message: 'timeoutMs must be a positive integer' }],
    ['openSession past the session limit', 'POST', '/v1/sessions', 429, headers({ 'retry-after': '1' }), { code: 'THROTTLEDOP', zkCode: -127, message: 'at most 10000 sessions' }],
    ['keepalive', 'POST', '/v1/sessions/4294967298/keepalive', 200, headers(), { id: '4294967298', timeoutMs: 4000 }],
    ['keepalive of a malformed id', 'POST', '/v1/sessions/x/keepalive', 400, headers(), { code: 'BADARGUMENTS', zkCode: -8, message: 'a session id is a positive decimal number' }],
    ['keepalive with a wrong token', 'POST', '/v1/sessions/4294967298/keepalive', 401, headers(), { code: 'AUTHFAILED', zkCode: -115, message: 'wrong token' }],
    ['keepalive of an unknown session', 'POST', '/v1/sessions/7/keepalive', 404, headers(), { code: 'UNKNOWNSESSION', zkCode: -12, message: 'not known' }],
    ['keepalive of an expired session', 'POST', '/v1/sessions/4294967298/keepalive', 410, headers(), { code: 'SESSIONEXPIRED', zkCode: -112, message: 'expired' }],
    ['closeSession', 'DELETE', '/v1/sessions/4294967298', 204, headers({ 'content-type': undefined }), undefined],
    ['closeSession twice', 'DELETE', '/v1/sessions/4294967298', 410, headers(), { code: 'SESSIONEXPIRED', zkCode: -112, message: 'closed' }],
    ['the event stream', 'GET', '/v1/sessions/4294967298/events', 200, headers({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }), undefined],
    ['the event stream with its open body', 'GET', '/v1/sessions/4294967298/events', 200, headers({ 'content-type': 'text/event-stream' }), new ReadableStream()],
    ['the event stream with its text so far', 'GET', '/v1/sessions/4294967298/events', 200, headers({ 'content-type': 'text/event-stream; charset=utf-8' }), ': connected\n\n'],
    ['the event stream with a malformed Last-Event-ID', 'GET', '/v1/sessions/4294967298/events', 400, headers(), { code: 'BADARGUMENTS', zkCode: -8, message: 'Last-Event-ID must be <zxid>-<k>' }],
    ['the event stream past the stream limit', 'GET', '/v1/sessions/4294967298/events', 429, headers({ 'retry-after': '1' }), { code: 'THROTTLEDOP', zkCode: -127, message: 'at most 10000 event streams' }],
    ['the event stream of an ended session', 'GET', '/v1/sessions/4294967298/events', 410, headers(), { code: 'SESSIONEXPIRED', zkCode: -112, message: 'ended' }],
    ['a watch stream', 'GET', '/v1/watch/app', 200, headers({ 'content-type': 'text/event-stream' }), new ReadableStream()],
    ['a watch stream with a bad fromZxid', 'GET', '/v1/watch/app', 400, headers(), { code: 'BADARGUMENTS', zkCode: -8, message: 'fromZxid must be a zxid' }],
    ['a watch stream past the stream limit', 'GET', '/v1/watch', 429, headers({ 'retry-after': '1' }), { code: 'THROTTLEDOP', zkCode: -127, message: 'at most 10000 watch streams' }],
    ['addWatch', 'POST', '/v1/sessions/4294967298/watches', 201, headers(), { path: '/app', mode: 'persistent_recursive' }],
    ['addWatch past the watch limit', 'POST', '/v1/sessions/4294967298/watches', 429, headers({ 'retry-after': '1' }), { code: 'THROTTLEDOP', zkCode: -127, message: 'at most 10000 watches' }],
    ['removeWatches', 'DELETE', '/v1/sessions/4294967298/watches', 204, headers({ 'content-type': undefined }), ''],
    ['removeWatches without a watch', 'DELETE', '/v1/sessions/4294967298/watches', 404, headers(), { code: 'NOWATCHER', zkCode: -121, message: 'no watch', path: '/a' }],
    ['removeWatches of an unknown session', 'DELETE', '/v1/sessions/7/watches', 404, headers(), { code: 'UNKNOWNSESSION', zkCode: -12, message: 'not known' }],
    ['getACL', 'GET', '/v1/acl/app/config', 200, headers(), { path: '/app/config', acl: [
      { perms: 'cdrwa', scheme: 'digest', id: 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=' }, { perms: 'r', scheme: 'world', id: 'anyone' },
    ], stat: { ...stat, aversion: 1 } }],
    ['getACL without ADMIN (digest hashes hidden)', 'GET', '/v1/acl/app', 200, headers(), { path: '/app', acl: [
      { perms: 'cdrwa', scheme: 'digest', id: 'bob:x' }, { perms: 'r', scheme: 'ip', id: '10.0.0.0/8' },
    ], stat }],
    ['getACL of the root', 'GET', '/v1/acl', 200, headers(), { path: '/', acl: [{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }], stat }],
    ['getACL of /zookeeper/config', 'GET', '/v1/acl/zookeeper/config', 200, headers(), { path: '/zookeeper/config', acl: [
      { perms: 'r', scheme: 'world', id: 'anyone' },
    ], stat: { ...stat, aversion: -1 } }],
    ['getACL as HEAD', 'HEAD', '/v1/acl/app', 200, headers({ 'content-type': undefined }), null],
    ['getACL without READ or ADMIN', 'GET', '/v1/acl/app', 403, headers(), { code: 'NOAUTH', zkCode: -102, message: 'getACL needs READ or ADMIN on the node' }],
    ['getACL of a missing node', 'GET', '/v1/acl/app/missing', 404, headers(), { code: 'NONODE', zkCode: -101, message: 'no node', path: '/app/missing' }],
    ['getACL past its Zk-Min-Zxid wait', 'GET', '/v1/acl/app', 503, headers({ 'retry-after': '1' }), { code: 'OPERATIONTIMEOUT', zkCode: -7, message: 'behind' }],
    ['setACL', 'PUT', '/v1/acl/app?version=0', 200, headers(), { path: '/app', stat: { ...stat, aversion: 1 } }],
    ['setACL of the root', 'PUT', '/v1/acl', 200, headers(), { path: '/', stat: { ...stat, aversion: 1 } }],
    ['setACL INVALIDACL', 'PUT', '/v1/acl/app', 400, headers(), { code: 'INVALIDACL', zkCode: -114, message: "'world:someone' is not a valid ACL id", path: '/app' }],
    ['setACL with an empty body', 'PUT', '/v1/acl/app', 400, headers(), { code: 'BADARGUMENTS', zkCode: -8, message: 'the body is the ACL', path: '/app' }],
    ['setACL without ADMIN', 'PUT', '/v1/acl/app', 403, headers(), { code: 'NOAUTH', zkCode: -102, message: 'ADMIN on /app is not granted to the caller', path: '/app' }],
    ['setACL of a missing node', 'PUT', '/v1/acl/a', 404, headers(), { code: 'NONODE', zkCode: -101, message: '/a does not exist', path: '/a' }],
    ['setACL BADVERSION', 'PUT', '/v1/acl/app?version=3', 409, headers(), { code: 'BADVERSION', zkCode: -103, message: 'aversion 3 does not match 1', path: '/app' }],
    ['setACL for an ended session', 'PUT', '/v1/acl/app', 410, headers(), { code: 'SESSIONEXPIRED', zkCode: -112, message: 'ended' }],
    ['setACL with a body over 64 KiB', 'PUT', '/v1/acl/app', 413, headers(), { code: 'BADARGUMENTS', zkCode: -8, message: 'request body is over the 65536-byte limit' }],
    ['setACL throttled', 'PUT', '/v1/acl/app', 429, headers({ 'retry-after': '1' }), { code: 'THROTTLEDOP', zkCode: -127, message: 'too many writes' }],
    ['a bad credential', 'GET', '/v1/znodes/a', 401, headers({ 'www-authenticate': 'Basic realm="corral", Bearer realm="corral"' }),
      { code: 'AUTHFAILED', zkCode: -115, message: 'the bearer token is not accepted: expired' }],
    ['no identity on a node with --auth-required', 'PUT', '/v1/acl/a', 401, headers({ 'www-authenticate': 'Basic realm="corral"' }),
      { code: 'AUTHFAILED', zkCode: -115, message: 'this node requires authentication (Authorization: Basic or Bearer)' }],
    ['a bad credential on exists', 'HEAD', '/v1/znodes/a', 401, headers({ 'www-authenticate': 'Basic realm="corral"' }), null],
    ['a bad credential on a probe', 'GET', '/healthz', 401, headers({ 'www-authenticate': 'Basic realm="corral"' }),
      { code: 'AUTHFAILED', zkCode: -115, message: 'the Basic credentials are malformed (base64 of user:password)' }],
    ['a bad credential on a watch stream', 'GET', '/v1/watch/app', 401, headers({ 'www-authenticate': 'Basic realm="corral"' }),
      { code: 'AUTHFAILED', zkCode: -115, message: 'the digest authorization scheme is not accepted (Basic or Bearer)' }],
    ['getData without READ', 'GET', '/v1/znodes/app/secret', 403, headers(), { code: 'NOAUTH', zkCode: -102, message: 'READ on /app/secret is not granted to the caller', path: '/app/secret' }],
    ['exists without READ', 'HEAD', '/v1/znodes/app/secret', 403, headers(), null],
    ['create without CREATE on the parent', 'POST', '/v1/znodes/app/x', 403, headers(), { code: 'NOAUTH', zkCode: -102, message: 'CREATE on /app is not granted to the caller', path: '/app/x' }],
    ['create past a quota', 'POST', '/v1/znodes/app/x', 403, headers(), { code: 'QUOTAEXCEEDED', zkCode: -125, message: 'count quota of /app exceeded', path: '/app/x' }],
    ['create with an invalid Zk-Acl', 'POST', '/v1/znodes/app/x', 400, headers(), { code: 'INVALIDACL', zkCode: -114, message: "an 'auth' entry needs an authenticated caller", path: '/app/x' }],
    ['delete without DELETE on the parent', 'DELETE', '/v1/znodes/app/x', 403, headers(), { code: 'NOAUTH', zkCode: -102, message: 'DELETE on /app is not granted to the caller', path: '/app/x' }],
    ['a watch stream from a disallowed origin', 'GET', '/v1/watch/app', 403, headers(), { code: 'NOAUTH', zkCode: -102, message: 'origin https://evil.example is not allowed (see --cors-origins)' }],
    ['keepalive without the session\'s identities', 'POST', '/v1/sessions/4294967298/keepalive', 403, headers(),
      { code: 'NOAUTH', zkCode: -102, message: 'session 4294967298 was opened with identities this request does not carry; send the same credentials' }],
    ['a multi with a denied op', 'POST', '/v1/multi', 403, headers(), { code: 'NOAUTH', zkCode: -102, message: 'DELETE on /app is not granted to the caller', path: '/app/lock', failedOp: 1, results: [
      { op: 'check', code: 'OK', zkCode: 0 }, { op: 'delete', code: 'NOAUTH', zkCode: -102 },
    ] }],
    ['a multi for a session without its identities', 'POST', '/v1/multi', 403, headers(), { code: 'NOAUTH', zkCode: -102, message: 'send the same credentials' }],
    ['a multi with an invalid create acl', 'POST', '/v1/multi', 400, headers(), { code: 'INVALIDACL', zkCode: -114, message: 'the ACL is empty', path: '/a', failedOp: 0, results: [
      { op: 'create', code: 'INVALIDACL', zkCode: -114 },
    ] }],
    ['a read-only multi with a denied op', 'POST', '/v1/multi', 200, headers(), { results: [
      { op: 'getData', path: '/a', data: 'x', encoding: 'utf8', stat },
      { op: 'getChildren', path: '/secret', code: 'NOAUTH', zkCode: -102, message: 'READ on /secret is not granted to the caller' },
    ] }],
    ['an unknown route', 'GET', '/nope', 404, headers(), { code: 'UNIMPLEMENTED', zkCode: -6, message: 'no such route' }],
    ['a wrong method', 'PATCH', '/v1/znodes/a', 405, headers({ allow: 'GET, HEAD, POST, PUT, DELETE' }), { code: 'UNIMPLEMENTED', zkCode: -6, message: 'method not allowed' }],
  ];

  it.each(valid)('accepts %s', (_name, method, url, status, h, body) => {
    expect(() => validateResponse(method, url, status, h, body)).not.toThrow();
  });

  const invalid: Array<[string, string, string, number, Headers, unknown, RegExp]> = [
    ['a stat field of the wrong type', 'GET', '/v1/stat/a', 200, headers(), { path: '/a', stat: { ...stat, version: '2' } }, /version must be integer/],
    ['a zxid as a number', 'GET', '/v1/stat/a', 200, headers(), { path: '/a', stat: { ...stat, czxid: 4294967298 } }, /czxid must be string/],
    ['an extra stat field', 'GET', '/v1/stat/a', 200, headers(), { path: '/a', stat: { ...stat, extra: 1 } }, /additional properties/],
    ['a missing Zk-Zxid', 'GET', '/v1/stat/a', 200, headers({ 'zk-zxid': undefined }), { path: '/a', stat }, /missing required header Zk-Zxid/],
    ['a non-decimal Zk-Zxid', 'GET', '/v1/stat/a', 200, headers({ 'zk-zxid': '0x10' }), { path: '/a', stat }, /header Zk-Zxid/],
    ['an undeclared status', 'GET', '/v1/znodes/a', 418, headers(), { code: 'BADARGUMENTS', zkCode: -8, message: 'x' }, /status 418 is not declared/],
    ['a 500', 'POST', '/v1/multi', 500, headers(), { code: 'SYSTEMERROR', zkCode: -1, message: 'x' }, /status 500 is not declared/],
    ['getData without ETag', 'GET', '/v1/znodes/a', 200, headers(), { path: '/a', data: '', encoding: 'utf8', stat }, /missing required header ETag/],
    ['an unquoted ETag', 'HEAD', '/v1/znodes/a', 200, headers({ etag: '2' }), null, /header ETag/],
    ['a code that does not belong to the status', 'GET', '/v1/znodes/a', 404, headers(), { code: 'NODEEXISTS', zkCode: -110, message: 'x' }, /allowed values/],
    ['a zkCode that does not match the code', 'GET', '/v1/znodes/a', 404, headers(), { code: 'NONODE', zkCode: -110, message: 'x' }, /NONODE must have zkCode -101/],
    ['an error without message', 'DELETE', '/v1/znodes/a', 409, headers(), { code: 'NOTEMPTY', zkCode: -111 }, /required property 'message'/],
    ['an error as text/plain', 'GET', '/v1/znodes/a', 404, headers({ 'content-type': 'text/plain' }), 'no node', /Content-Type text\/plain not declared/],
    ['a HEAD answer with a body', 'HEAD', '/v1/znodes/a', 404, headers(), { code: 'NONODE', zkCode: -101, message: 'x' }, /expected no body/],
    ['a 204 with a body', 'DELETE', '/v1/znodes/a', 204, headers(), { ok: true }, /expected no body/],
    ['a 503 without Retry-After', 'POST', '/v1/znodes/a', 503, headers(), { code: 'OPERATIONTIMEOUT', zkCode: -7, message: 'x' }, /missing required header Retry-After/],
    ['a create without Location', 'POST', '/v1/znodes/a', 201, headers(), { path: '/a', stat }, /missing required header Location/],
    ['a failed multi without failedOp', 'POST', '/v1/multi', 409, headers(), { code: 'BADVERSION', zkCode: -103, message: 'x', results: [] }, /failedOp/],
    ['a multi result in the wrong shape', 'POST', '/v1/multi', 200, headers(), { results: [{ op: 'create', stat }] }, /does not match the schema/],
    ['a 405 whose Allow misses a method', 'PUT', '/v1/stat/a', 405, headers({ allow: 'POST' }), { code: 'UNIMPLEMENTED', zkCode: -6, message: 'x' }, /Allow "POST" should list GET/],
    ['a wrong method answered 404', 'PATCH', '/v1/znodes/a', 404, headers(), { code: 'NONODE', zkCode: -101, message: 'x' }, /expected 405/],
    ['an unknown route answered 200', 'GET', '/v1/nope', 200, headers(), {}, /expected 404 UNIMPLEMENTED/],
    ['an empty JSON body', 'GET', '/v1/stat/a', 200, headers(), '', /empty application\/json body/],
    ['getData over the watch limit without 429', 'GET', '/v1/znodes/a', 429, headers({ 'retry-after': '1' }), { code: 'BADARGUMENTS', zkCode: -8, message: 'x' }, /allowed values/],
    ['openSession without Location', 'POST', '/v1/sessions', 201, headers(), { id: '1', timeoutMs: 4000, token: 't' }, /missing required header Location/],
    ['a session id as a number', 'POST', '/v1/sessions', 201, headers({ location: '/v1/sessions/1' }), { id: 1, timeoutMs: 4000, token: 't' }, /id must be string/],
    ['a keepalive answering NONODE', 'POST', '/v1/sessions/1/keepalive', 404, headers(), { code: 'NONODE', zkCode: -101, message: 'x' }, /allowed values/],
    ['removeWatches answering NONODE', 'DELETE', '/v1/sessions/1/watches', 404, headers(), { code: 'NONODE', zkCode: -101, message: 'x' }, /allowed values/],
    ['addWatch with a one-shot mode', 'POST', '/v1/sessions/1/watches', 201, headers(), { path: '/a', mode: 'data' }, /allowed values/],
    ['the event stream as JSON', 'GET', '/v1/sessions/1/events', 200, headers(), { events: [] }, /Content-Type application\/json not declared/],
    ['an error as an event stream', 'GET', '/v1/sessions/1/events', 401, headers({ 'content-type': 'text/event-stream' }), undefined, /Content-Type text\/event-stream not declared/],
    ['an event stream without Zk-Zxid', 'GET', '/v1/sessions/1/events', 200, headers({ 'zk-zxid': undefined, 'content-type': 'text/event-stream' }), undefined, /missing required header Zk-Zxid/],
    ['a probe throttled (probes are never limited)', 'GET', '/healthz', 429, headers({ 'retry-after': '1' }), { code: 'THROTTLEDOP', zkCode: -127, message: 'x' }, /status 429 is not declared/],
    ['getACL without its acl', 'GET', '/v1/acl/a', 200, headers(), { path: '/a', stat }, /required property 'acl'/],
    ['getACL with perms out of zkCli order', 'GET', '/v1/acl/a', 200, headers(), { path: '/a', acl: [{ perms: 'rc', scheme: 'world', id: 'anyone' }], stat },
      /perms must match pattern/],
    ['getACL with perms as a bitmask', 'GET', '/v1/acl/a', 200, headers(), { path: '/a', acl: [{ perms: 31, scheme: 'world', id: 'anyone' }], stat },
      /perms must be string/],
    ['getACL refused as AUTHFAILED', 'GET', '/v1/acl/a', 403, headers(), { code: 'AUTHFAILED', zkCode: -115, message: 'x' }, /allowed values/],
    ['getACL with a stray BADVERSION', 'GET', '/v1/acl/a', 409, headers(), { code: 'BADVERSION', zkCode: -103, message: 'x' }, /status 409 is not declared/],
    ['setACL with ETag semantics', 'PUT', '/v1/acl/a', 200, headers(), { path: '/a', stat, acl: [] }, /additional properties/],
    ['setACL BADVERSION as NOTEMPTY', 'PUT', '/v1/acl/a', 409, headers(), { code: 'NOTEMPTY', zkCode: -111, message: 'x' }, /allowed values/],
    ['INVALIDACL with the wrong zkCode', 'PUT', '/v1/acl/a', 400, headers(), { code: 'INVALIDACL', zkCode: -8, message: 'x' }, /INVALIDACL must have zkCode -114/],
    ['INVALIDACL where no ACL is sent', 'PUT', '/v1/znodes/a', 400, headers(), { code: 'INVALIDACL', zkCode: -114, message: 'x' }, /allowed values/],
    ['QUOTAEXCEEDED on a read', 'GET', '/v1/znodes/a', 403, headers(), { code: 'QUOTAEXCEEDED', zkCode: -125, message: 'x' }, /allowed values/],
    ['a 401 with an empty WWW-Authenticate', 'GET', '/v1/znodes/a', 401, headers({ 'www-authenticate': '' }), { code: 'AUTHFAILED', zkCode: -115, message: 'x' },
      /header WWW-Authenticate/],
  ];

  it.each(invalid)('rejects %s', (_name, method, url, status, h, body, message) => {
    expect(() => validateResponse(method, url, status, h, body)).toThrow(message);
  });
});

describe('validateFetchResponse', () => {
  it('checks an event stream by status and headers without reading its endless body', async () => {
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull() {
        pulls++;
        return new Promise(() => {}); // never delivers: the stream stays open like a live session's
      },
    }, { highWaterMark: 0 });
    const res = new Response(body, { status: 200, headers: headers({ 'content-type': 'text/event-stream' }) });
    await expect(validateFetchResponse('GET', '/v1/sessions/4294967298/events', res)).resolves.toBeUndefined();
    expect(res.bodyUsed).toBe(false);
    expect(pulls).toBe(0);
    await res.body!.cancel();
  });

  it('still rejects an event stream with an undeclared status', async () => {
    const res = new Response(new ReadableStream(), { status: 418, headers: headers({ 'content-type': 'text/event-stream' }) });
    await expect(validateFetchResponse('GET', '/v1/sessions/1/events', res)).rejects.toThrow(/status 418 is not declared/);
    await res.body!.cancel();
  });

  it('reads and checks an error answer of the events endpoint as JSON', async () => {
    const res = new Response(JSON.stringify({ code: 'AUTHFAILED', zkCode: -115, message: 'wrong token' }), { status: 401, headers: headers() });
    await expect(validateFetchResponse('GET', '/v1/sessions/1/events', res)).resolves.toMatchObject({ code: 'AUTHFAILED' });
  });
});

describe('assertSpecCovers', () => {
  const honoRoutes = (): Array<[string, string]> =>
    specOperations()
      .filter((op) => op.method !== 'HEAD')
      .map((op) => [op.method, op.template.replace('{path}', ':path{.+}')]);

  it('accepts a route list with every operation (HEAD served by GET)', () => {
    expect(() => assertSpecCovers(honoRoutes())).not.toThrow();
  });

  it('covers every route of the server\'s route table, getACL and setACL included', async () => {
    // Imported here, not at the top: src/http may be mid-edit without breaking the rest of this file.
    const { ROUTES } = await import('../../src/http/route-table.ts');
    const routes = ROUTES.flatMap((route) => route.paths.map((path) => [route.method, path] as const));
    expect(routes).toContainEqual(['GET', '/v1/acl/*']);
    expect(routes).toContainEqual(['PUT', '/v1/acl']);
    expect(() => assertSpecCovers(routes)).not.toThrow();
  });

  it('names the operations a route list lacks and the routes the spec lacks', () => {
    const routes = honoRoutes().filter(([m, t]) => !(m === 'POST' && t === '/v1/multi'));
    routes.push(['GET', '/v1/secret']);
    expect(() => assertSpecCovers(routes)).toThrow(/not served: POST \/v1\/multi \(multi\)[^]*not in the spec: GET \/v1\/secret/);
  });
});

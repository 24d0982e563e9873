// Checks HTTP responses against openapi.yaml, the machine-readable form of the contract.
//
// Invariants:
// - The spec is read and parsed once; each JSON Schema is compiled once (cached by its JSON
//   pointer in the spec), so validating thousands of responses is cheap.
// - Schemas are compiled in place inside the spec document (ajv 2020-12, strict), so every
//   `#/components/schemas/...` reference resolves exactly as an OpenAPI 3.1 tool would.
// - A request is matched the way the server routes it: a path parameter declared with
//   `allowReserved: true` ({path} of /v1/znodes/{path}) takes the rest of the URL, slashes
//   included; other parameters take one segment. HEAD without its own operation is the GET
//   operation answered without a body (hono answers HEAD on every GET route).
// - URLs with no operation must answer components/responses/UnknownRoute (404) and known URLs
//   with another method components/responses/MethodNotAllowed (405 + Allow).
// - A `text/event-stream` answer (an event or watch stream) is checked by status, headers and
//   Content-Type alone: its body is an open stream, never read or parsed here.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

type Obj = Record<string, unknown>;

export interface OpenApiDoc {
  openapi: string;
  info: Obj;
  paths: Record<string, Obj>;
  components: Record<string, Record<string, Obj>>;
  [key: string]: unknown;
}

export interface SpecOperation {
  method: string; // upper case
  template: string; // e.g. /v1/znodes/{path}
  operationId: string;
  pointer: string; // JSON pointer of the operation object
  operation: Obj;
  pathItem: Obj;
  regex: RegExp; // matches the concrete URL paths of this template
}

export type RouteMatch =
  | { kind: 'operation'; op: SpecOperation; bodyless: boolean }
  | { kind: 'method-not-allowed'; template: string; allow: string[] }
  | { kind: 'unknown-route' };

const SPEC_URL = new URL('../../openapi.yaml', import.meta.url);
const METHODS = ['get', 'head', 'post', 'put', 'delete', 'patch', 'options', 'trace'];
const SPEC_ID = 'openapi';

let specCache: OpenApiDoc | undefined;
let ajvCache: Ajv2020 | undefined;
let opsCache: SpecOperation[] | undefined;
const validators = new Map<string, ValidateFunction>();

export function loadSpecText(): string {
  return readFileSync(SPEC_URL, 'utf8');
}

export function loadSpec(): OpenApiDoc {
  specCache ??= parse(loadSpecText()) as OpenApiDoc;
  return specCache;
}

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const escapePointer = (token: string): string => token.replace(/~/g, '~0').replace(/\//g, '~1');

function at(pointer: string): unknown {
  let node: unknown = loadSpec();
  for (const raw of pointer.replace(/^#\/?/, '').split('/').filter((t) => t !== '')) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObj(node)) return undefined;
    node = node[token];
  }
  return node;
}

/** Follows `$ref`s (of responses, parameters, headers) to the object and its pointer. */
export function deref(pointer: string): { pointer: string; value: Obj } {
  let current = pointer;
  for (let hops = 0; hops < 10; hops++) {
    const value = at(current);
    if (!isObj(value)) throw new Error(`openapi.yaml: nothing at ${current}`);
    if (typeof value.$ref !== 'string') return { pointer: current, value };
    current = value.$ref;
  }
  throw new Error(`openapi.yaml: $ref chain too long at ${pointer}`);
}

function ajv(): Ajv2020 {
  if (ajvCache) return ajvCache;
  const instance = new Ajv2020({ allErrors: true, strictTypes: false });
  addFormats.default(instance);
  const spec = loadSpec();
  // The spec's own top-level fields and x- extensions are annotations for ajv.
  instance.addVocabulary(Object.keys(spec).filter((k) => k !== '$id'));
  for (const schema of Object.values(spec.components.schemas ?? {})) {
    for (const key of Object.keys(schema).filter((k) => k.startsWith('x-'))) {
      if (!instance.getKeyword(key)) instance.addKeyword(key);
    }
  }
  instance.addSchema({ ...spec, $id: SPEC_ID });
  ajvCache = instance;
  return instance;
}

/** The compiled validator of the schema at `pointer` (compiled once). */
export function schemaValidator(pointer: string): ValidateFunction {
  let validate = validators.get(pointer);
  if (!validate) {
    validate = ajv().compile({ $ref: `${SPEC_ID}${pointer}` });
    validators.set(pointer, validate);
  }
  return validate;
}

function paramRegex(pathItem: Obj, operation: Obj, pointer: string, name: string): string {
  for (const param of [...asArray(pathItem.parameters), ...asArray(operation.parameters)]) {
    const p = typeof param.$ref === 'string' ? deref(param.$ref).value : param;
    if (p.in === 'path' && p.name === name) return p.allowReserved === true ? '(.+)' : '([^/]+)';
  }
  throw new Error(`openapi.yaml: path parameter {${name}} not declared at ${pointer}`);
}

function asArray(value: unknown): Obj[] {
  return Array.isArray(value) ? value.filter(isObj) : [];
}

function templateRegex(template: string, pathItem: Obj, operation: Obj, pointer: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const name = /^\{([^}]+)\}$/.exec(part)?.[1];
      return name ? paramRegex(pathItem, operation, pointer, name) : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

/** Every operation of the spec, in document order. */
export function specOperations(): SpecOperation[] {
  if (opsCache) return opsCache;
  const ops: SpecOperation[] = [];
  for (const [template, pathItem] of Object.entries(loadSpec().paths)) {
    for (const method of METHODS) {
      const operation = pathItem[method];
      if (!isObj(operation)) continue;
      const pointer = `#/paths/${escapePointer(template)}/${method}`;
      const operationId = typeof operation.operationId === 'string' ? operation.operationId : '';
      const regex = templateRegex(template, pathItem, operation, pointer);
      ops.push({ method: method.toUpperCase(), template, operationId, pointer, operation, pathItem, regex });
    }
  }
  opsCache = ops;
  return ops;
}

/** Finds what the spec says about `method urlPath` (query string ignored). */
export function matchRoute(method: string, urlPath: string): RouteMatch {
  const path = urlPath.split(/[?#]/)[0] ?? '';
  const upper = method.toUpperCase();
  const candidates = specOperations().filter((op) => op.regex.test(path));
  // `/v1/znodes/` names the root like `/v1/znodes` (an empty {path}); sequential creates use it.
  if (candidates.length === 0 && path.length > 1 && path.endsWith('/') && !path.endsWith('//')) {
    return matchRoute(method, path.slice(0, -1));
  }
  if (candidates.length === 0) return { kind: 'unknown-route' };
  // Prefer the most literal template (fewest parameters) when several match.
  const literalness = (op: SpecOperation): number => -(op.template.match(/\{/g)?.length ?? 0);
  const best = Math.max(...candidates.map(literalness));
  const onTemplate = candidates.filter((op) => literalness(op) === best);
  const exact = onTemplate.find((op) => op.method === upper);
  if (exact) return { kind: 'operation', op: exact, bodyless: upper === 'HEAD' };
  const get = onTemplate.find((op) => op.method === 'GET');
  if (upper === 'HEAD' && get) return { kind: 'operation', op: get, bodyless: true };
  const first = onTemplate[0] as SpecOperation;
  return { kind: 'method-not-allowed', template: first.template, allow: onTemplate.map((op) => op.method) };
}

/** The operationId that serves `method urlPath`, if any (useful to track coverage). */
export function operationIdFor(method: string, urlPath: string): string | undefined {
  const match = matchRoute(method, urlPath);
  return match.kind === 'operation' ? match.op.operationId : undefined;
}

function responsePointer(match: RouteMatch, status: number, where: string): string {
  if (match.kind === 'unknown-route') {
    if (status !== 404) throw new Error(`${where}: no such route in openapi.yaml, so expected 404 UNIMPLEMENTED, got ${status}`);
    return '#/components/responses/UnknownRoute';
  }
  if (match.kind === 'method-not-allowed') {
    if (status !== 405) {
      throw new Error(`${where}: ${match.template} has only ${match.allow.join(', ')}; expected 405, got ${status}`);
    }
    return '#/components/responses/MethodNotAllowed';
  }
  const responses = match.op.operation.responses;
  if (!isObj(responses)) throw new Error(`openapi.yaml: ${match.op.operationId} has no responses`);
  const key = [String(status), `${Math.floor(status / 100)}XX`, 'default'].find((k) => k in responses);
  if (!key) {
    const declared = Object.keys(responses).join(', ');
    throw new Error(`${where} (${match.op.operationId}): status ${status} is not declared (declared: ${declared})`);
  }
  return `${match.op.pointer}/responses/${key}`;
}

function checkHeaders(response: { pointer: string; value: Obj }, headers: Headers, where: string): void {
  const declared = isObj(response.value.headers) ? response.value.headers : {};
  for (const name of Object.keys(declared)) {
    const header = deref(`${response.pointer}/headers/${escapePointer(name)}`);
    const value = headers.get(name);
    if (value === null) {
      if (header.value.required === true) throw new Error(`${where}: missing required header ${name}`);
      continue;
    }
    if (!isObj(header.value.schema)) continue;
    const validate = schemaValidator(`${header.pointer}/schema`);
    const schemaType = header.value.schema.type;
    const typed = (schemaType === 'integer' || schemaType === 'number') && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    if (!validate(typed)) {
      throw new Error(`${where}: header ${name}: ${JSON.stringify(value)} ${ajv().errorsText(validate.errors, { dataVar: 'value', separator: '; ' })}`);
    }
  }
}

function isEmptyBody(body: unknown): boolean {
  if (body === undefined || body === null || body === '') return true;
  if (body instanceof ArrayBuffer) return body.byteLength === 0;
  if (ArrayBuffer.isView(body)) return body.byteLength === 0;
  return false;
}

const mediaType = (contentType: string): string => (contentType.split(';')[0] ?? '').trim().toLowerCase();
const isJsonMedia = (media: string): boolean => media === 'application/json' || media.endsWith('+json');
const EVENT_STREAM = 'text/event-stream';

/** Whether `headers` announce a Server-Sent Events stream (whose body must not be awaited). */
export function isEventStream(headers: Headers): boolean {
  return mediaType(headers.get('content-type') ?? '') === EVENT_STREAM;
}

function findMedia(content: Obj, media: string): string | undefined {
  const keys = Object.keys(content);
  return (
    keys.find((k) => mediaType(k) === media) ??
    keys.find((k) => mediaType(k) === `${media.split('/')[0]}/*`) ??
    keys.find((k) => k === '*/*')
  );
}

function checkBody(response: { pointer: string; value: Obj }, bodyless: boolean, headers: Headers, body: unknown, where: string): void {
  const content = isObj(response.value.content) ? response.value.content : undefined;
  const empty = isEmptyBody(body);
  if (bodyless || !content) {
    if (!empty) throw new Error(`${where}: expected no body, got ${preview(body)}`);
    return;
  }
  const contentType = headers.get('content-type');
  if (contentType === null) {
    if (empty) throw new Error(`${where}: expected a body (${Object.keys(content).join(' or ')}), got none`);
    throw new Error(`${where}: body without Content-Type`);
  }
  const media = mediaType(contentType);
  const key = findMedia(content, media);
  if (!key) throw new Error(`${where}: Content-Type ${media} not declared (declared: ${Object.keys(content).join(', ')})`);
  // An event stream stays open: its body (a stream, or whatever the caller passes) is not checked.
  if (media === EVENT_STREAM) return;
  if (!isJsonMedia(media)) return;
  if (empty) throw new Error(`${where}: empty ${media} body`);
  const data = typeof body === 'string' ? (JSON.parse(body) as unknown) : body;
  const mediaObj = content[key];
  if (!isObj(mediaObj) || !isObj(mediaObj.schema)) return;
  const validate = schemaValidator(`${response.pointer}/content/${escapePointer(key)}/schema`);
  if (!validate(data)) {
    throw new Error(`${where}: body ${preview(data)} does not match the schema: ${ajv().errorsText(validate.errors, { dataVar: 'body', separator: '; ' })}`);
  }
  checkZkCodes(data, where);
}

/** Every object carrying both `code` and `zkCode` must pair them as ZooKeeper does. */
function checkZkCodes(data: unknown, where: string): void {
  const table = at('#/components/schemas/ResultCode/x-zk-codes');
  if (!isObj(table)) throw new Error('openapi.yaml: ResultCode has no x-zk-codes table');
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isObj(node)) return;
    if (typeof node.code === 'string' && 'zkCode' in node && table[node.code] !== node.zkCode) {
      throw new Error(`${where}: code ${node.code} must have zkCode ${String(table[node.code])}, got ${String(node.zkCode)}`);
    }
    Object.values(node).forEach(visit);
  };
  visit(data);
}

function checkAllow(match: RouteMatch, headers: Headers, where: string): void {
  if (match.kind !== 'method-not-allowed') return;
  const allow = (headers.get('allow') ?? '').split(',').map((m) => m.trim().toUpperCase()).filter((m) => m !== '');
  const missing = match.allow.filter((m) => !allow.includes(m));
  const extra = allow.filter((m) => !match.allow.includes(m) && m !== 'HEAD' && m !== 'OPTIONS');
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(`${where}: Allow ${JSON.stringify(headers.get('allow'))} should list ${match.allow.join(', ')}`);
  }
}

function preview(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) text = `<${value.byteLength} bytes>`;
  else text = JSON.stringify(value) ?? String(value);
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

/**
 * Throws a readable Error unless the response (status, headers, body) is one the spec declares
 * for `method urlPath`. `body` is the parsed JSON, the text, the bytes, or null/undefined/''
 * when there is none.
 */
export function validateResponse(method: string, urlPath: string, status: number, headers: Headers, body: unknown): void {
  const where = `${method.toUpperCase()} ${urlPath} -> ${status}`;
  const match = matchRoute(method, urlPath);
  const response = deref(responsePointer(match, status, where));
  checkHeaders(response, headers, where);
  checkAllow(match, headers, where);
  const bodyless = method.toUpperCase() === 'HEAD' || status === 204 || status === 304;
  checkBody(response, bodyless, headers, body, where);
}

/**
 * Convenience: validates a fetch Response (reads its body; pass a clone if you need it later).
 * A `text/event-stream` body is left unread for the caller (who cancels it when done) and
 * undefined is returned: such a stream may stay open indefinitely.
 */
export async function validateFetchResponse(method: string, urlPath: string, res: Response): Promise<unknown> {
  if (isEventStream(res.headers) && method.toUpperCase() !== 'HEAD') {
    validateResponse(method, urlPath, res.status, res.headers, undefined);
    return undefined;
  }
  const text = await res.text();
  const isJson = isJsonMedia(mediaType(res.headers.get('content-type') ?? ''));
  const body: unknown = isJson && text !== '' ? (JSON.parse(text) as unknown) : text;
  validateResponse(method, urlPath, res.status, res.headers, body);
  return body;
}

const normalizeTemplate = (template: string): string =>
  template
    .replace(/\{[^}]+\}/g, '{}')
    .replace(/:[A-Za-z0-9_]+(\{[^}]*\})?\??/g, '{}')
    .replace(/\/\*$/, '/{}');

/**
 * Throws unless `routes` (the server's [method, template] pairs; hono `:name`, `:name{re}` and a
 * trailing `*` are accepted as parameters) and the spec's operations are the same set. A spec
 * HEAD operation is served by a GET route of the same template.
 */
export function assertSpecCovers(routes: ReadonlyArray<readonly [string, string]>): void {
  const served = new Set(routes.map(([m, t]) => `${m.toUpperCase()} ${normalizeTemplate(t)}`));
  const specified = new Set(specOperations().map((op) => `${op.method} ${normalizeTemplate(op.template)}`));
  const missing = specOperations()
    .filter((op) => {
      const t = normalizeTemplate(op.template);
      return !served.has(`${op.method} ${t}`) && !(op.method === 'HEAD' && served.has(`GET ${t}`));
    })
    .map((op) => `${op.method} ${op.template} (${op.operationId})`);
  const undocumented = [...served].filter((r) => !specified.has(r) && !r.startsWith('HEAD ') && !r.startsWith('OPTIONS '));
  if (missing.length > 0 || undocumented.length > 0) {
    throw new Error(
      `server routes and openapi.yaml differ.\n  not served: ${missing.join('; ') || '-'}\n  not in the spec: ${undocumented.join('; ') || '-'}`,
    );
  }
}

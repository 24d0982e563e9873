/**
 * Renders openapi.yaml as a human-readable API reference page (GET /docs).
 *
 * Invariants: every string taken from the spec goes through `escapeHtml` before it reaches the
 * page (descriptions get only paragraphs and `code` spans, added after escaping), and the page
 * is self-contained: inline CSS, no scripts, no external resources.
 */
import { parse } from 'yaml';

type Obj = Record<string, unknown>;

const METHODS = ['get', 'head', 'post', 'put', 'delete', 'patch', 'options', 'trace'] as const;
const OUTLINE_DEPTH_MAX = 2;

interface Operation {
  method: string;
  template: string;
  op: Obj;
  params: Obj[];
}

const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);
const asObj = (value: unknown): Obj => (isObj(value) ? value : {});
const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Escaped text with `code` spans. */
function inline(value: string): string {
  return escapeHtml(value).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function paragraphs(value: unknown): string {
  return text(value)
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => `<p>${inline(p.replace(/\s*\n\s*/g, ' '))}</p>`)
    .join('\n');
}

const refName = (ref: string): string => ref.slice(ref.lastIndexOf('/') + 1);
const anchor = (kind: string, name: string): string => escapeHtml(`${kind}-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`);

/** Follows a local `$ref` (`#/components/...`) to the object it names. */
function resolve(spec: Obj, value: unknown): Obj {
  let node = asObj(value);
  for (let hops = 0; hops < 10 && typeof node.$ref === 'string'; hops++) {
    let target: unknown = spec;
    for (const token of node.$ref.replace(/^#\//, '').split('/')) {
      target = asObj(target)[token.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    node = asObj(target);
  }
  return node;
}

/** A one-line HTML outline of a schema: `{path: string, stat: Stat}`, `utf8 | base64`, ... */
function outline(schema: unknown, depth = 0): string {
  if (!isObj(schema)) return 'any';
  if (typeof schema.$ref === 'string') {
    const name = refName(schema.$ref);
    return `<a href="#${anchor('schema', name)}">${escapeHtml(name)}</a>`;
  }
  if ('const' in schema) return escapeHtml(JSON.stringify(schema.const));
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => escapeHtml(JSON.stringify(v))).join(' | ');
  for (const [key, sep] of [['allOf', ' &amp; '], ['anyOf', ' | '], ['oneOf', ' | ']] as const) {
    if (Array.isArray(schema[key])) {
      const parts = schema[key].map((s) => outline(s, depth + 1)).join(sep);
      return depth > 0 ? `(${parts})` : parts;
    }
  }
  const type = Array.isArray(schema.type) ? schema.type.map(String).join(' | ') : text(schema.type);
  if (type === 'array') return `${outline(schema.items, depth + 1)}[]`;
  if (isObj(schema.properties) && depth < OUTLINE_DEPTH_MAX) {
    // Without a `type` the schema only refines another one (allOf), so `?` would mislead.
    const optional = (name: string): string => (type && !asList(schema.required).includes(name) ? '?' : '');
    const fields = Object.entries(schema.properties).map(
      ([name, sub]) => `${escapeHtml(name)}${optional(name)}: ${outline(sub, depth + 1)}`,
    );
    return `{${fields.join(', ')}}`;
  }
  const format = typeof schema.format === 'string' ? ` (${escapeHtml(schema.format)})` : '';
  return `${escapeHtml(type || 'object')}${format}`;
}

function collectOperations(spec: Obj): Operation[] {
  const byTag = new Map<string, Operation[]>(asList(spec.tags).map((t) => [text(asObj(t).name), []]));
  for (const [template, rawItem] of Object.entries(asObj(spec.paths))) {
    const item = asObj(rawItem);
    for (const method of METHODS) {
      if (!isObj(item[method])) continue;
      const op = item[method];
      const own = asList(op.parameters).map((p) => resolve(spec, p));
      const inherited = asList(item.parameters)
        .map((p) => resolve(spec, p))
        .filter((p) => !own.some((o) => o.name === p.name && o.in === p.in));
      const tag = text(asList(op.tags)[0]);
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)?.push({ method: method.toUpperCase(), template, op, params: [...inherited, ...own] });
    }
  }
  return [...byTag.values()].flat();
}

function paramsTable(params: Obj[]): string {
  if (params.length === 0) return '';
  const rows = params.map((p) => {
    const required = p.required === true ? 'yes' : 'no';
    return `<tr><td><code>${escapeHtml(text(p.name))}</code></td><td>${escapeHtml(text(p.in))}</td>` +
      `<td>${outline(p.schema)}</td><td>${required}</td><td>${paragraphs(p.description)}</td></tr>`;
  });
  return `<h4>Parameters</h4>\n<table><tr><th>name</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>\n${rows.join('\n')}</table>`;
}

function contentList(spec: Obj, content: unknown): string {
  const items = Object.entries(asObj(content)).map(
    ([media, body]) => `<li><code>${escapeHtml(media)}</code>: ${outline(resolve(spec, body).schema)}</li>`,
  );
  return items.length > 0 ? `<ul>${items.join('')}</ul>` : '';
}

function requestBody(spec: Obj, op: Obj): string {
  if (!isObj(op.requestBody)) return '';
  const body = resolve(spec, op.requestBody);
  const required = body.required === true ? ' (required)' : '';
  return `<h4>Request body${required}</h4>\n${paragraphs(body.description)}\n${contentList(spec, body.content)}`;
}

function responsesTable(spec: Obj, op: Obj): string {
  const rows = Object.entries(asObj(op.responses)).map(([status, raw]) => {
    const response = resolve(spec, raw);
    const headers = Object.keys(asObj(response.headers)).map((h) => `<code>${escapeHtml(h)}</code>`).join(', ');
    return `<tr><td class="status s${escapeHtml(status.charAt(0))}">${escapeHtml(status)}</td>` +
      `<td>${paragraphs(response.description)}${contentList(spec, response.content)}</td><td>${headers}</td></tr>`;
  });
  return `<h4>Responses</h4>\n<table><tr><th>status</th><th>meaning and body</th><th>headers</th></tr>\n${rows.join('\n')}</table>`;
}

function operationSection(spec: Obj, entry: Operation): string {
  const id = text(entry.op.operationId) || `${entry.method} ${entry.template}`;
  return [
    `<section id="${anchor('op', id)}">`,
    `<h3><span class="method m-${escapeHtml(entry.method.toLowerCase())}">${escapeHtml(entry.method)}</span> ` +
      `<code>${escapeHtml(entry.template)}</code> <small>${escapeHtml(id)}</small></h3>`,
    `<p class="summary">${inline(text(entry.op.summary))}</p>`,
    paragraphs(entry.op.description),
    paramsTable(entry.params),
    requestBody(spec, entry.op),
    responsesTable(spec, entry.op),
    '</section>',
  ].join('\n');
}

function schemaSection(name: string, schema: Obj): string {
  const required = asList(schema.required);
  const rows = Object.entries(asObj(schema.properties)).map(([field, raw]) => {
    const sub = asObj(raw);
    return `<tr><td><code>${escapeHtml(field)}</code>${required.includes(field) ? '' : '?'}</td>` +
      `<td>${outline(sub, 1)}</td><td>${paragraphs(sub.description)}</td></tr>`;
  });
  const table = rows.length > 0 ? `<table><tr><th>field</th><th>type</th><th>description</th></tr>\n${rows.join('\n')}</table>` : '';
  return `<section id="${anchor('schema', name)}"><h3>${escapeHtml(name)}</h3>\n${paragraphs(schema.description)}\n` +
    `<p class="outline">${outline(schema)}</p>\n${table}</section>`;
}

function tableOfContents(entries: Operation[], schemaNames: string[]): string {
  const ops = entries.map((e) => {
    const id = text(e.op.operationId) || `${e.method} ${e.template}`;
    return `<li><a href="#${anchor('op', id)}"><b>${escapeHtml(e.method)}</b> ${escapeHtml(e.template)}</a> ` +
      `<small>${escapeHtml(id)}</small></li>`;
  });
  const schemas = schemaNames.map((n) => `<a href="#${anchor('schema', n)}">${escapeHtml(n)}</a>`).join(', ');
  return `<nav><h2>Contents</h2>\n<ul>${ops.join('\n')}</ul>\n<p>Schemas: ${schemas}</p></nav>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:0 auto;padding:1rem 2rem;color:#222}
code{font-family:ui-monospace,monospace;background:#f3f3f3;padding:0 .2em;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
td p{margin:0 0 .3rem}section{border-top:1px solid #ccc;padding-top:.5rem;margin-top:1.5rem}h3 small,li small{color:#777;font-weight:normal}
.method{display:inline-block;min-width:4.5em;text-align:center;color:#fff;background:#555;border-radius:3px;padding:0 .3em}
.m-get{background:#2a7ab0}.m-head{background:#5a8fa8}.m-post{background:#3c9a4e}.m-put{background:#b07a2a}.m-delete{background:#b03a2a}
.status{font-weight:bold}.s2{color:#3c9a4e}.s4{color:#b07a2a}.s5{color:#b03a2a}.summary{font-weight:600}.outline{font-family:ui-monospace,monospace}`;

/** The whole reference page for an OpenAPI 3.x document given as YAML (or JSON) text. */
export function renderDocsPage(specYamlText: string): string {
  const spec = asObj(parse(specYamlText));
  const info = asObj(spec.info);
  const title = text(info.title) || 'API reference';
  const entries = collectOperations(spec);
  const schemas = asObj(asObj(spec.components).schemas);
  const servers = asList(spec.servers)
    .map((s) => `<li><code>${escapeHtml(text(asObj(s).url))}</code> ${inline(text(asObj(s).description))}</li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<header><h1>${escapeHtml(title)} <small>${escapeHtml(text(info.version))}</small></h1>
<p class="summary">${inline(text(info.summary))}</p>
${paragraphs(info.description)}
${servers ? `<p>Servers:</p><ul>${servers}</ul>` : ''}</header>
${tableOfContents(entries, Object.keys(schemas))}
<main><h2>Operations</h2>
${entries.map((e) => operationSection(spec, e)).join('\n')}
<h2>Schemas</h2>
${Object.entries(schemas).map(([name, s]) => schemaSection(name, asObj(s))).join('\n')}
</main></body></html>
`;
}

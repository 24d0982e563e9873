/**
 * Renders deploy/helm/corral the way `helm template` would, for the subset of Helm's template
 * language the chart uses; no helm binary can be installed here (no Debian package, no npm
 * package ships one), and a template engine of our own for the whole of Go templates and sprig
 * would be far more code than the chart needs.
 *
 * Faithful by refusal: anything outside the subset is an error, never a guess, so a template that
 * grows past it fails the deploy test instead of rendering differently from helm. The subset:
 *   {{ .Values.a.b }}  {{ .Release.Name }}  {{ .Release.Namespace }}  {{ .Chart.Name }} (Version, AppVersion)
 *   "string" and number literals; pipelines with quote, toYaml, indent N, nindent N, default X
 *   {{ if PIPELINE }} … {{ else }} … {{ end }}; {{/* comments *\/}}; {{- and -}} trimming
 * Go's rules are kept where they show: a piped value is a function's last argument; `if` is false
 * for false, 0, nil and empty strings, lists and maps; toYaml drops its trailing newline (as
 * Helm's does). A reference to a value that does not exist is an error (helm prints nothing);
 * toYaml's layout may differ from helm's in white space, never in the data.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';

export interface RenderContext {
  readonly Values: unknown;
  readonly Release: { readonly Name: string; readonly Namespace: string; readonly Service: string };
  readonly Chart: { readonly Name: string; readonly Version: string; readonly AppVersion: string };
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

type Node =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'action'; readonly pipeline: string }
  | { readonly type: 'if'; readonly condition: string; readonly then: Node[]; readonly otherwise: Node[] };

const ACTION = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g;

/** Splits a template into text and actions, applying the trim markers to the text beside them. */
function tokenize(source: string): { text: string; action?: string }[] {
  const tokens: { text: string; action?: string }[] = [];
  let last = 0;
  let trimNext = false;
  for (const match of source.matchAll(ACTION)) {
    let text = source.slice(last, match.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (match[1] !== undefined) text = text.replace(/\s+$/, '');
    tokens.push({ text, action: match[2]!.trim() });
    trimNext = match[3] !== undefined;
    last = match.index + match[0].length;
  }
  const tail = source.slice(last);
  tokens.push({ text: trimNext ? tail.replace(/^\s+/, '') : tail });
  return tokens;
}

function parseTemplate(source: string): Node[] {
  const root: Node[] = [];
  // Each open `if` with the list its nodes go to (then, or else after {{ else }}).
  const stack: { node: Extract<Node, { type: 'if' }>; into: Node[] }[] = [];
  const current = () => stack.at(-1)?.into ?? root;
  for (const { text, action } of tokenize(source)) {
    if (text !== '') current().push({ type: 'text', text });
    if (action === undefined || (action.startsWith('/*') && action.endsWith('*/'))) continue;
    const [keyword, ...rest] = action.split(/\s+/);
    if (keyword === 'if') {
      const node = { type: 'if' as const, condition: rest.join(' '), then: [], otherwise: [] };
      current().push(node);
      stack.push({ node, into: node.then });
    } else if (keyword === 'else' && rest.length === 0 && stack.length > 0) {
      stack.at(-1)!.into = stack.at(-1)!.node.otherwise;
    } else if (keyword === 'end' && rest.length === 0 && stack.length > 0) {
      stack.pop();
    } else if (/^(range|with|define|template|include|block|else|end|tpl)$/.test(keyword ?? '') || action.includes(':=')) {
      throw new TemplateError(`{{ ${action} }} is outside the subset this renderer supports`);
    } else {
      current().push({ type: 'action', pipeline: action });
    }
  }
  if (stack.length > 0) throw new TemplateError('an {{ if }} has no {{ end }}');
  return root;
}

/** `a "b c" 3` → ['a', '"b c"', '3']; `|` outside quotes separates commands. */
function commandsOf(pipeline: string): string[][] {
  const words = pipeline.match(/"(?:[^"\\]|\\.)*"|\||[^\s|"]+/g) ?? [];
  const commands: string[][] = [[]];
  for (const word of words) {
    if (word === '|') commands.push([]);
    else commands.at(-1)!.push(word);
  }
  if (commands.some((command) => command.length === 0)) throw new TemplateError(`empty command in {{ ${pipeline} }}`);
  return commands;
}

function lookup(path: string, context: RenderContext): unknown {
  const [root, ...keys] = path.slice(1).split('.');
  if (root !== 'Values' && root !== 'Release' && root !== 'Chart') throw new TemplateError(`unknown object ${path}`);
  let value: unknown = context[root];
  for (const key of keys) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

function argumentOf(word: string, context: RenderContext): unknown {
  if (word.startsWith('.')) return lookup(word, context);
  if (word.startsWith('"')) return JSON.parse(word) as string;
  if (/^-?\d+$/.test(word)) return Number(word);
  throw new TemplateError(`${word} is not a value this renderer knows`);
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') throw new TemplateError('a map or list printed as text (pipe it through toYaml)');
  return String(value);
}

const FUNCTIONS: Readonly<Record<string, (...args: unknown[]) => unknown>> = {
  quote: (...args) => args.filter((arg) => arg !== undefined && arg !== null).map((arg) => JSON.stringify(text(arg))).join(' '),
  toYaml: (value) => stringify(value).replace(/\n$/, ''),
  indent: (count, value) => text(value).split('\n').map((line) => ' '.repeat(Number(count)) + line).join('\n'),
  nindent: (count, value) => '\n' + (FUNCTIONS.indent!(count, value) as string),
  default: (fallback, value) => (truthy(value) ? value : fallback),
};

function evaluate(pipeline: string, context: RenderContext): unknown {
  let piped: unknown[] = [];
  for (const [head, ...words] of commandsOf(pipeline)) {
    const fn = FUNCTIONS[head!];
    if (fn === undefined) {
      if (words.length > 0 || piped.length > 0) throw new TemplateError(`${head} is not a function this renderer knows`);
      const value = argumentOf(head!, context);
      if (value === undefined) throw new TemplateError(`${head} has no value`);
      piped = [value];
      continue;
    }
    piped = [fn(...words.map((word) => argumentOf(word, context)), ...piped)];
  }
  return piped[0];
}

/** Go's truth: false, 0, nil and empty strings, lists and maps are false. */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value !== null && typeof value === 'object') return Object.keys(value).length > 0;
  return value !== undefined && value !== null && value !== false && value !== 0 && value !== '';
}

function renderNodes(nodes: readonly Node[], context: RenderContext): string {
  let out = '';
  for (const node of nodes) {
    if (node.type === 'text') out += node.text;
    else if (node.type === 'action') out += text(evaluate(node.pipeline, context));
    else {
      const value = commandsOf(node.condition).length === 1 && node.condition.startsWith('.') ? lookup(node.condition, context) : evaluate(node.condition, context);
      out += renderNodes(truthy(value) ? node.then : node.otherwise, context);
    }
  }
  return out;
}

export function renderTemplate(source: string, context: RenderContext): string {
  return renderNodes(parseTemplate(source), context);
}

/** Values over defaults, maps merged key by key (lists and scalars replaced), as helm's --set/-f do. */
function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  const isMap = (value: unknown) => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isMap(base) || !isMap(over)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(over as Record<string, unknown>)) out[key] = merge(out[key], value);
  return out;
}

export interface RenderOptions {
  readonly releaseName: string;
  readonly namespace?: string;
  readonly values?: unknown;
}

/** Every object the chart renders to, in template-file order, as parsed YAML. */
export function renderChart(chartDir: string, options: RenderOptions): Record<string, unknown>[] {
  const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, string>;
  const context: RenderContext = {
    Values: merge(parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')), options.values),
    Release: { Name: options.releaseName, Namespace: options.namespace ?? 'default', Service: 'Helm' },
    Chart: { Name: chart.name!, Version: chart.version!, AppVersion: chart.appVersion ?? '' },
  };
  const objects: Record<string, unknown>[] = [];
  const templates = join(chartDir, 'templates');
  for (const file of readdirSync(templates).filter((name) => name.endsWith('.yaml')).sort()) {
    const rendered = renderTemplate(readFileSync(join(templates, file), 'utf8'), context);
    for (const document of parseAllDocuments(rendered, { version: '1.1' })) {
      if (document.errors.length > 0) throw new TemplateError(`${file} renders to invalid YAML: ${document.errors[0]!.message}`);
      const object = document.toJS() as Record<string, unknown> | null;
      if (object !== null) objects.push(object);
    }
  }
  return objects;
}

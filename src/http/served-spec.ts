/**
 * openapi.yaml as a node serves it (GET /openapi.yaml): the file's text with two values stamped
 * in — `info.version` from package.json (the one place the version is written), and `servers`
 * naming the origin the request reached the node at (node-origin.ts), so a reader's "try it"
 * calls this node.
 *
 * Invariants: everything else is the file byte for byte (comments, order, wording); the stamped
 * values are written by the YAML library, never pasted into the text, so a Host cannot add keys.
 * The file is parsed once per process, on first use (a full parse takes most of a second, and
 * most nodes — tests' in-process ones above all — are never asked for their spec).
 */
import { readFileSync } from 'node:fs';
import { isMap, parseDocument, stringify, type Node as YamlNode } from 'yaml';
import { packageFile } from '../package-root.ts';

/** The file cut around the two stamped values: text, version, text, servers, text. */
interface SpecTemplate {
  readonly version: string;
  /** [before the version, between the version and `servers:`, after the servers entry]. */
  readonly pieces: readonly [string, string, string];
}

let template: SpecTemplate | undefined;

/** The package's version: package.json is the one place it is written. */
export function packageVersion(): string {
  const { version } = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version?: unknown };
  if (typeof version !== 'string' || version === '') throw new Error('package.json has no version');
  return version;
}

function rangeOf(node: unknown, what: string): readonly [number, number] {
  const range = (node as YamlNode | undefined)?.range;
  if (range === undefined || range === null) throw new Error(`openapi.yaml has no ${what}`);
  return [range[0], range[1]];
}

/** Cuts `text` where its top-level `servers` entry and its `info.version` value stand. */
export function specTemplateOf(text: string, version: string): SpecTemplate {
  const doc = parseDocument(text);
  if (!isMap(doc.contents)) throw new Error('openapi.yaml is not a mapping');
  const pair = doc.contents.items.find((p) => (p.key as { value?: unknown } | null)?.value === 'servers');
  const [serversStart] = rangeOf(pair?.key, 'servers entry');
  const [, listEnd] = rangeOf(pair?.value, 'servers list');
  // The cut ends at a line's start, so what is stamped in ends with its own newline.
  const lineEnd = text.indexOf('\n', listEnd - 1);
  const serversEnd = text[listEnd - 1] === '\n' || lineEnd === -1 ? listEnd : lineEnd + 1;
  const [versionStart, versionEnd] = rangeOf(doc.getIn(['info', 'version'], true), 'info.version');
  // The file puts info (with its version) before servers, as every OpenAPI document does.
  if (versionEnd > serversStart) throw new Error('openapi.yaml must give info before servers');
  return {
    version,
    pieces: [text.slice(0, versionStart), text.slice(versionEnd, serversStart), text.slice(serversEnd)],
  };
}

/** The spec with `version` and one server, the node at `origin`. */
export function stampSpec(spec: SpecTemplate, origin: string): string {
  const [head, middle, tail] = spec.pieces;
  const version = stringify(spec.version).trimEnd();
  const servers = stringify({ servers: [{ url: origin, description: 'The node that served this document.' }] });
  return `${head}${version}${middle}${servers}${tail}`;
}

/** openapi.yaml as served to a request that reached the node at `origin`. */
export function servedSpec(origin: string): string {
  template ??= specTemplateOf(readFileSync(packageFile('openapi.yaml'), 'utf8'), packageVersion());
  return stampSpec(template, origin);
}

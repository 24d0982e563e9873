/**
 * Znode data as the console shows and edits it: bytes in, text out, and back. Pure functions.
 * Data is bytes in ZooKeeper; text and JSON are views of valid UTF-8, hex and base64 of anything.
 */
export type DataView = 'text' | 'json' | 'hex' | 'base64';

export const VIEWS: readonly DataView[] = ['text', 'json', 'hex', 'base64'];

const strict = new TextDecoder('utf-8', { fatal: true });

export function utf8Of(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The view a node opens in: JSON when it parses, text when it is UTF-8, hex otherwise. */
export function defaultView(bytes: Uint8Array): DataView {
  const text = utf8Of(bytes);
  if (text === undefined) return 'hex';
  const trimmed = text.trim();
  if ((trimmed.startsWith('{') || trimmed.startsWith('[')) && parsesAsJson(trimmed)) return 'json';
  return 'text';
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export type Shown = { readonly text: string } | { readonly error: string };

/** The bytes as `view` shows them, or why that view cannot (binary as text, invalid JSON). */
export function show(bytes: Uint8Array, view: DataView): Shown {
  switch (view) {
    case 'hex':
      return { text: [...bytes].map((b, i) => b.toString(16).padStart(2, '0') + (i % 16 === 15 ? '\n' : ' ')).join('').trimEnd() };
    case 'base64':
      return { text: btoa(String.fromCharCode(...bytes)) };
    case 'text':
    case 'json': {
      const text = utf8Of(bytes);
      if (text === undefined) return { error: 'the data is not valid UTF-8: view it as hex or base64' };
      if (view === 'text' || text.trim() === '') return { text };
      try {
        return { text: JSON.stringify(JSON.parse(text), null, 2) };
      } catch (error) {
        return { error: `not valid JSON: ${(error as Error).message}` };
      }
    }
  }
}

export type Parsed = { readonly bytes: Uint8Array } | { readonly error: string };

/** What the user typed in `view`, as the bytes to store, or why it is not valid. */
export function parse(text: string, view: DataView): Parsed {
  switch (view) {
    case 'text':
      return { bytes: new TextEncoder().encode(text) };
    case 'json':
      try {
        JSON.parse(text);
      } catch (error) {
        return { error: `not valid JSON: ${(error as Error).message}` };
      }
      return { bytes: new TextEncoder().encode(text) };
    case 'hex': {
      const digits = text.replace(/\s+/g, '');
      if (!/^([0-9a-fA-F]{2})*$/.test(digits)) return { error: 'hex must be pairs of digits 0-9, a-f' };
      return { bytes: Uint8Array.from(digits.match(/../g) ?? [], (pair) => parseInt(pair, 16)) };
    }
    case 'base64':
      try {
        return { bytes: Uint8Array.from(atob(text.replace(/\s+/g, '')), (ch) => ch.charCodeAt(0)) };
      } catch {
        return { error: 'not valid base64' };
      }
  }
}

/**
 * The console's pure pieces: znode data shown and parsed in each view (text, JSON, hex, base64),
 * and the metrics text the metrics panel reads.
 */
import { describe, expect, it } from 'vitest';
import { defaultView, parse, show, VIEWS } from '../../console/data-format.ts';
import { parseMetrics } from '../../console/metrics-text.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('console data views', () => {
  it.each([
    ['{"a":1}', 'json'],
    ['[1,2]', 'json'],
    ['{not json', 'text'],
    ['plain words', 'text'],
    ['', 'text'],
  ] as const)('opens %j in the %s view', (text, view) => {
    expect(defaultView(bytes(text))).toBe(view);
  });

  it('opens bytes that are not UTF-8 as hex, and refuses to show them as text or JSON', () => {
    const binary = Uint8Array.of(0, 255, 1, 0xc3);
    expect(defaultView(binary)).toBe('hex');
    expect(show(binary, 'hex')).toEqual({ text: '00 ff 01 c3' });
    expect(show(binary, 'base64')).toEqual({ text: 'AP8Bww==' });
    expect(show(binary, 'text')).toHaveProperty('error');
    expect(show(binary, 'json')).toHaveProperty('error');
  });

  it('shows JSON pretty-printed and reports invalid JSON instead of showing it', () => {
    expect(show(bytes('{"a":[1,2]}'), 'json')).toEqual({ text: '{\n  "a": [\n    1,\n    2\n  ]\n}' });
    expect(show(bytes('{"a":'), 'json')).toHaveProperty('error');
  });

  it('breaks hex into lines of 16 bytes', () => {
    const shown = show(new Uint8Array(20), 'hex');
    expect('text' in shown && shown.text.split('\n').map((line) => line.split(' ').length)).toEqual([16, 4]);
  });

  it.each(VIEWS)('gives back the same bytes after showing them in the %s view', (view) => {
    const data = bytes('{"k":"välue"}');
    const shown = show(data, view);
    if (!('text' in shown)) throw new Error(shown.error);
    const parsed = parse(shown.text, view);
    if (!('bytes' in parsed)) throw new Error(parsed.error);
    expect(view === 'json' ? JSON.parse(new TextDecoder().decode(parsed.bytes)) : [...parsed.bytes]).toEqual(view === 'json' ? { k: 'välue' } : [...data]);
  });

  it.each([
    ['{"a":', 'json', /not valid JSON/],
    ['0g', 'hex', /hex must be pairs/],
    ['abc', 'hex', /hex must be pairs/],
    ['@@@', 'base64', /not valid base64/],
  ] as const)('refuses to save %j typed in the %s view', (text, view, message) => {
    const parsed = parse(text, view);
    expect('error' in parsed && parsed.error).toMatch(message);
  });
});

describe('console metrics text', () => {
  it('sums each metric over its labels and skips comments and non-numbers', () => {
    const text = [
      '# HELP corral_http_requests_total HTTP requests',
      '# TYPE corral_http_requests_total counter',
      'corral_http_requests_total{method="GET",route="/v1/znodes/*",status="200"} 5',
      'corral_http_requests_total{method="PUT",route="/v1/znodes/*",status="409"} 2',
      'corral_znodes 12',
      'corral_weird NaN',
      '',
    ].join('\n');
    const sums = parseMetrics(text);
    expect(sums.get('corral_http_requests_total')).toBe(7);
    expect(sums.get('corral_znodes')).toBe(12);
    expect(sums.has('corral_weird')).toBe(false);
  });
});

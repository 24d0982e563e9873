import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_HEAD_BYTES, parseRequestHead, type RequestHead } from '../../../src/http/wire/request-head.ts';

const head = (...lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');

function parsed(bytes: Buffer): RequestHead {
  const result = parseRequestHead(bytes);
  if (typeof result === 'string') throw new Error(`expected a head, got ${result}`);
  return result;
}

const TOKEN = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/).filter((name) => !['host', 'content-length', 'connection', 'transfer-encoding', 'expect', 'upgrade', 'te', 'trailer'].includes(name));
const VALUE = fc.stringMatching(/^[!-~]([ -~]{0,20}[!-~])?$/);

describe('parseRequestHead', () => {
  it('reads the method, target, body length and headers of a plain head', () => {
    const h = parsed(head('PUT /v1/znodes/a?version=2 HTTP/1.1', 'Host: 127.0.0.1', 'Content-Length: 5', 'If-Match:  "2" \t', 'Accept: */*'));
    expect([h.method, h.target, h.bodyLength, h.keepAlive]).toEqual(['PUT', '/v1/znodes/a?version=2', 5, true]);
    expect([h.header('if-match'), h.header('accept'), h.header('host'), h.header('zk-request-id')]).toEqual(['"2"', '*/*', '127.0.0.1', undefined]);
    expect(h.headLength).toBe(head('PUT /v1/znodes/a?version=2 HTTP/1.1', 'Host: 127.0.0.1', 'Content-Length: 5', 'If-Match:  "2" \t', 'Accept: */*').length);
  });

  it('says a connection is not kept alive when the client sends Connection: close', () => {
    expect(parsed(head('GET / HTTP/1.1', 'host: x', 'connection: Close')).keepAlive).toBe(false);
    expect(parsed(head('GET / HTTP/1.1', 'host: x', 'connection: keep-alive')).keepAlive).toBe(true);
  });

  it('is incomplete until the blank line arrives, however the bytes are split', () => {
    fc.assert(fc.property(fc.array(fc.tuple(TOKEN, VALUE), { maxLength: 6 }), fc.nat(), (headers, cut) => {
      const names = new Set<string>();
      const unique = headers.filter(([name]) => !names.has(name) && names.add(name));
      const bytes = head('GET /v1/znodes/x HTTP/1.1', 'host: h', ...unique.map(([n, v]) => `${n}: ${v}`));
      const at = cut % bytes.length;
      expect(parseRequestHead(bytes.subarray(0, at))).toBe('incomplete');
      const whole = parsed(Buffer.concat([bytes, Buffer.from('GET')]));
      expect(whole.headLength).toBe(bytes.length);
      for (const [name, value] of unique) expect(whole.header(name)).toBe(value);
    }));
  });

  it('finds headers whatever case their names are sent in', () => {
    fc.assert(fc.property(TOKEN, VALUE, fc.boolean(), (name, value, upper) => {
      const sent = upper ? name.toUpperCase() : name;
      expect(parsed(head('GET / HTTP/1.1', 'Host: h', `${sent}:${value}`)).header(name)).toBe(value);
    }));
  });

  it.each([
    ['HTTP/1.0', head('GET / HTTP/1.0', 'host: x')],
    ['a lower-case method', head('get / HTTP/1.1', 'host: x')],
    ['an absolute-form target', head('GET http://x/ HTTP/1.1', 'host: x')],
    ['a target with a space', head('GET /a b HTTP/1.1', 'host: x')],
    ['a target with non-ASCII bytes', head('GET /caf\u00e9 HTTP/1.1', 'host: x')],
    ['chunked framing', head('PUT / HTTP/1.1', 'host: x', 'Transfer-Encoding: chunked')],
    ['Expect: 100-continue', head('PUT / HTTP/1.1', 'host: x', 'expect: 100-continue', 'content-length: 1')],
    ['an upgrade', head('GET / HTTP/1.1', 'host: x', 'connection: upgrade', 'upgrade: websocket')],
    ['a Connection header naming other options', head('GET / HTTP/1.1', 'host: x', 'connection: keep-alive, foo')],
    ['two Content-Lengths', head('PUT / HTTP/1.1', 'host: x', 'content-length: 1', 'content-length: 1')],
    ['two Hosts', head('GET / HTTP/1.1', 'host: x', 'Host: y')],
    ['two If-Match headers', head('PUT / HTTP/1.1', 'host: x', 'if-match: "1"', 'if-match: "2"')],
    ['no Host', head('GET / HTTP/1.1', 'accept: */*')],
    ['a folded header line', head('GET / HTTP/1.1', 'host: x', 'x-a: 1', ' 2')],
    ['a control character in a value', head('GET / HTTP/1.1', 'host: x', 'x-a: 1\u00012')],
    ['a bare line feed', head('GET / HTTP/1.1', 'host: x\nx-a: 1')],
    ['a space before the colon', head('GET / HTTP/1.1', 'host : x')],
    ['a line without a colon', head('GET / HTTP/1.1', 'host: x', 'nonsense')],
    ['a Content-Length that is not a number', head('PUT / HTTP/1.1', 'host: x', 'content-length: 1e3')],
    ['a negative Content-Length', head('PUT / HTTP/1.1', 'host: x', 'content-length: -1')],
    ['a Content-Length with a trailing tab (llhttp refuses it)', head('PUT / HTTP/1.1', 'host: x', 'content-length: 2\t')],
    ['a Content-Length with a trailing space', head('PUT / HTTP/1.1', 'host: x', 'content-length: 2 ')],
    ['a Content-Length after a tab', head('PUT / HTTP/1.1', 'host: x', 'content-length:\t2')],
    ['CONNECT (llhttp tunnels it)', head('CONNECT /a HTTP/1.1', 'host: x')],
    ['a method llhttp does not know', head('FOO / HTTP/1.1', 'host: x')],
    ['Proxy-Connection (llhttp reads it as Connection)', head('GET / HTTP/1.1', 'host: x', 'proxy-connection: close')],
    ['an empty line before the request line', Buffer.concat([Buffer.from('\r\n'), head('GET / HTTP/1.1', 'host: x')])],
    ['a repeated Authorization (node:http keeps the first)', head('GET / HTTP/1.1', 'host: x', 'Authorization: Basic YTpi', 'authorization: Basic Yzpk')],
    ['a repeated Zk-Acl (node:http joins them)', head('POST /v1/znodes/a HTTP/1.1', 'host: x', 'content-length: 0', 'Zk-Acl: world:anyone:r', 'zk-acl: ip:10.0.0.1:cdrwa')],
    ['a head over 16 KiB', head('GET / HTTP/1.1', 'host: x', `x-big: ${'a'.repeat(MAX_HEAD_BYTES)}`)],
  ])('leaves a request with %s to node:http', (_what, bytes) => {
    expect(parseRequestHead(bytes)).toBe('unsupported');
  });

  it('keeps or joins a repeated header as node:http does', () => {
    const h = parsed(head('GET / HTTP/1.1', 'Host: x', 'X-Trace: a', 'x-trace: b', 'User-Agent: one', 'User-Agent: two', 'Cookie: c=1', 'cookie: d=2'));
    expect([h.header('x-trace'), h.header('user-agent'), h.header('cookie')]).toEqual(['a, b', 'one', 'c=1; d=2']);
  });

  it('stops waiting for a head that is over 16 KiB without its blank line', () => {
    expect(parseRequestHead(Buffer.from(`GET / HTTP/1.1\r\nx: ${'a'.repeat(MAX_HEAD_BYTES)}`))).toBe('unsupported');
  });
});

import { describe, expect, it } from 'vitest';
import { decodeForwardRequest, decodeForwardResponse, encodeForwardRequest, encodeForwardResponse } from '../../src/node/forward-codec.ts';

const overTheWire = (message: unknown): unknown => JSON.parse(JSON.stringify(message));

describe('forwarded writes on the wire', () => {
  it('carries a request and a response through JSON unchanged, binary bodies included', () => {
    const request = { method: 'PUT', target: '/v1/znodes/a%2Fb?version=3', headers: [['zk-request-id', 'r1']] as const, body: new Uint8Array([0, 255, 10]) };
    const decoded = decodeForwardRequest(overTheWire(encodeForwardRequest(2, 1, 'n.1', request)));
    expect(decoded).toEqual({ from: 2, to: 1, id: 'n.1', request });
    const response = { status: 409, headers: [['content-type', 'application/json'], ['zk-zxid', '42']] as const, body: new Uint8Array(0) };
    expect(decodeForwardResponse(overTheWire(encodeForwardResponse(1, 2, 'n.1', response)))).toEqual({ from: 1, to: 2, id: 'n.1', response });
  });

  it('drops messages of another shape', () => {
    const good = overTheWire(encodeForwardRequest(2, 1, 'n.1', { method: 'POST', target: '/v1/multi', headers: [], body: new Uint8Array(0) })) as Record<string, unknown>;
    for (const bad of [null, 'x', { ...good, type: 'ForwardResponse' }, { ...good, id: 1 }, { ...good, target: 'http://elsewhere/' },
      { ...good, headers: [['a']] }, { ...good, body: 3 }, { ...good, from: -1 }]) {
      expect(decodeForwardRequest(bad)).toBeUndefined();
    }
    expect(decodeForwardResponse({ ...good, type: 'ForwardResponse', status: 'ok' })).toBeUndefined();
  });
});

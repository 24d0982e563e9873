/** The frames of an authenticated link: acks are read strictly, and say what the listener reads only when it says so. */
import { describe, expect, it } from 'vitest';
import { parseAckFrame, parseDialerFrame } from '../../src/transport/link-frames.ts';

describe('parseAckFrame', () => {
  it('reads the bytes acknowledged, and the layout the listener reads when it names one', () => {
    expect(parseAckFrame({ type: 'ack', bytes: 10 })).toEqual({ type: 'ack', bytes: 10 });
    expect(parseAckFrame({ type: 'ack', bytes: 10, reads: 2 })).toEqual({ type: 'ack', bytes: 10, reads: 2 });
  });

  it.each([
    ['a negative byte count', { type: 'ack', bytes: -1 }],
    ['a fractional byte count', { type: 'ack', bytes: 1.5 }],
    ['a layout below 1', { type: 'ack', bytes: 1, reads: 0 }],
    ['a layout that is text', { type: 'ack', bytes: 1, reads: '2' }],
    ['a fractional layout', { type: 'ack', bytes: 1, reads: 2.5 }],
    ['another type', { type: 'msg', bytes: 1 }],
    ['a list', [1]],
  ])('refuses an ack with %s', (_what, frame) => {
    expect(parseAckFrame(frame)).toBeUndefined();
  });
});

describe('parseDialerFrame', () => {
  it('reads a message and a ping, and nothing else', () => {
    expect(parseDialerFrame({ type: 'msg', body: { a: 1 } })).toEqual({ type: 'msg', body: { a: 1 } });
    expect(parseDialerFrame({ type: 'ping' })).toEqual({ type: 'ping' });
    expect(parseDialerFrame({ type: 'msg' })).toBeUndefined();
    expect(parseDialerFrame({ type: 'ack', bytes: 1 })).toBeUndefined();
  });
});

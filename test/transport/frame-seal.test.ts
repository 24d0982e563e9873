import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../../src/transport/frame-codec.ts';
import { deriveLinkKeys, RECORD_BODY_MAX, RECORD_PLAINTEXT_MAX, RecordOpener, RecordSealer, SealError, type Transcript } from '../../src/transport/frame-seal.ts';

const transcript: Transcript = { protocol: 3, from: 2, to: 1, listenerNonce: 'L'.repeat(43), dialerNonce: 'D'.repeat(43) };
const SECRET = 'the cluster secret';

/** The record bodies (what the outer decoder yields) of `records`. */
function bodies(records: Buffer[]): Buffer[] {
  const decoder = new FrameDecoder({ maxFrameBytes: RECORD_BODY_MAX });
  for (const record of records) decoder.push(record);
  const out: Buffer[] = [];
  for (let body = decoder.nextBody(); body !== undefined; body = decoder.nextBody()) out.push(Buffer.from(body));
  return out;
}

describe('sealed records', () => {
  const dialer = deriveLinkKeys(SECRET, transcript, 'dialer');
  const listener = deriveLinkKeys(SECRET, transcript, 'listener');

  it('derives one key per direction, shared by the two ends, and different for another transcript or secret', () => {
    expect(dialer.send).toEqual(listener.receive);
    expect(dialer.receive).toEqual(listener.send);
    expect(dialer.send).not.toEqual(dialer.receive);
    expect(deriveLinkKeys(SECRET, { ...transcript, dialerNonce: 'E'.repeat(43) }, 'dialer').send).not.toEqual(dialer.send);
    expect(deriveLinkKeys(SECRET, { ...transcript, protocol: 4 }, 'dialer').send).not.toEqual(dialer.send);
    expect(deriveLinkKeys('another secret', transcript, 'dialer').send).not.toEqual(dialer.send);
  });

  it('tags each record with HMAC-SHA256 over its sequence number (u64, big-endian) and its whole plaintext', () => {
    const sealer = new RecordSealer(dialer.send);
    const turns = [[encodeFrame({ a: 1 }), encodeFrame('two'), encodeFrame([3])], [encodeFrame('next')]];
    turns.forEach((frames, sequence) => {
      for (const frame of frames) sealer.push(frame);
      const [body] = bodies(sealer.drain());
      const plaintext = Buffer.concat(frames);
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64BE(BigInt(sequence));
      const expected = createHmac('sha256', dialer.send).update(prefix).update(plaintext).digest();
      expect(body).toEqual(Buffer.concat([plaintext, expected]));
    });
  });

  it('carries the frames of a turn in one record, and a large frame across several', () => {
    const sealer = new RecordSealer(dialer.send);
    const small = [encodeFrame({ a: 1 }), encodeFrame('two')];
    for (const frame of small) sealer.push(frame);
    const first = bodies(sealer.drain());
    expect(first).toHaveLength(1);
    const big = encodeFrame('x'.repeat(3 * RECORD_PLAINTEXT_MAX));
    sealer.push(big);
    const second = bodies(sealer.drain());
    expect(second).toHaveLength(4);
    const opener = new RecordOpener(listener.receive);
    expect(opener.open(first[0]!)).toEqual(Buffer.concat(small));
    expect(Buffer.concat(second.map((body) => opener.open(body)))).toEqual(big);
  });

  const cases = [
    ['a replayed record', (records: Buffer[]) => [records[0]!, records[0]!]],
    ['records out of order', (records: Buffer[]) => [records[1]!, records[0]!]],
    ['a record dropped', (records: Buffer[]) => [records[1]!]],
    ['an altered record', (records: Buffer[]) => [Buffer.from(records[0]!.map((b, i) => (i === 5 ? b ^ 1 : b)))]],
    ['a record sealed with the other direction\'s key', (_: Buffer[]) => bodies((() => {
      const reflected = new RecordSealer(dialer.receive);
      reflected.push(encodeFrame('x'));
      return reflected.drain();
    })())],
    ['a record made up', (_: Buffer[]) => [randomBytes(64)]],
  ] as const;

  it.each(cases)('refuses %s', (_, meddle) => {
    const sealer = new RecordSealer(dialer.send);
    const records: Buffer[] = [];
    for (const text of ['one', 'two']) {
      sealer.push(encodeFrame(text));
      records.push(...bodies(sealer.drain()));
    }
    const opener = new RecordOpener(listener.receive);
    expect(() => meddle(records).forEach((body) => opener.open(body))).toThrow(SealError);
  });
});

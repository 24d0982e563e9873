import { describe, expect, it } from 'vitest';
import { JuteDecodeError, JuteReader, JuteWriter } from '../../src/zookeeper-client/jute.ts';
import { readMulti, readStat, writeMulti, writeWriteOp, OpCode } from '../../src/zookeeper-client/records.ts';
import { WatchRegistry } from '../../src/zookeeper-client/watch-registry.ts';

function encoded(write: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter();
  write(w);
  return w.toBuffer();
}

describe('jute codec', () => {
  it('writes ints, longs, booleans, buffers and strings big-endian with int lengths', () => {
    const bytes = new JuteWriter(1).int(-2).long(0x1122334455667788n).bool(true).buffer(new Uint8Array([9])).ustring('é').toBuffer();
    expect([...bytes]).toEqual([
      0xff, 0xff, 0xff, 0xfe, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 1, 0, 0, 0, 1, 9, 0, 0, 0, 2, 0xc3, 0xa9,
    ]);
  });

  it('reads back what it wrote, null buffers and 64-bit longs included', () => {
    const bytes = new JuteWriter().long(-1n).long(2n ** 62n + 5n).buffer(null).ustring('zk').vector(['a', 'b'], (w, s) => w.ustring(s)).toBuffer();
    const r = new JuteReader(bytes);
    expect(r.long()).toBe(-1n);
    expect(r.long()).toBe(2n ** 62n + 5n);
    expect(r.buffer()).toBeNull();
    expect(r.ustring()).toBe('zk');
    expect(r.vector((v) => v.ustring())).toEqual(['a', 'b']);
    expect(r.remaining).toBe(0);
  });

  it('prefixes a frame with its length', () => {
    expect([...new JuteWriter().int(7).framed()]).toEqual([0, 0, 0, 4, 0, 0, 0, 7]);
  });

  it('refuses a record shorter than its fields say', () => {
    expect(() => new JuteReader(new Uint8Array([0, 0, 0, 9, 1])).buffer()).toThrow(JuteDecodeError);
    expect(() => new JuteReader(new Uint8Array([0, 0])).int()).toThrow(JuteDecodeError);
  });

  it('refuses a vector count larger than the bytes left', () => {
    expect(() => new JuteReader(new Uint8Array([0x7f, 0, 0, 0])).vector((r) => r.int())).toThrow(JuteDecodeError);
  });
});

describe('records', () => {
  it('sends a version of 0 as 0 and -1 as -1', () => {
    const zero = new JuteReader(encoded((w) => writeWriteOp(w, { type: 'delete', path: '/a', version: 0 })));
    expect(zero.ustring()).toBe('/a');
    expect(zero.int()).toBe(0);
    const any = new JuteReader(encoded((w) => writeWriteOp(w, { type: 'setData', path: '/a', data: new Uint8Array(), version: -1 })));
    any.ustring();
    any.buffer();
    expect(any.int()).toBe(-1);
  });

  it('writes a TTL create with its ttl after the flags', () => {
    const r = new JuteReader(encoded((w) => writeWriteOp(w, {
      type: 'create', path: '/t', data: new Uint8Array([1]), acl: [{ perms: 31, scheme: 'world', id: 'anyone' }], mode: 'persistent_with_ttl', ttlMs: 500,
    })));
    expect(r.ustring()).toBe('/t');
    expect([...r.buffer()!]).toEqual([1]);
    expect(r.vector((v) => [v.int(), v.ustring(), v.ustring()])).toEqual([[31, 'world', 'anyone']]);
    expect(r.int()).toBe(5);
    expect(r.long()).toBe(500n);
  });

  it('frames a multi with a header per op and a done header', () => {
    const r = new JuteReader(encoded((w) => writeMulti(w, [{ type: 'check', path: '/c', version: 3 }])));
    expect([r.int(), r.bool(), r.int(), r.ustring(), r.int()]).toEqual([OpCode.check, false, -1, '/c', 3]);
    expect([r.int(), r.bool(), r.int()]).toEqual([-1, true, -1]);
  });

  it('reads a failed multi as one error result per op', () => {
    const w = new JuteWriter();
    for (const err of [0, -101]) w.int(OpCode.error).bool(false).int(err).int(err);
    w.int(-1).bool(true).int(-1);
    expect(readMulti(new JuteReader(w.toBuffer()))).toEqual([{ type: 'error', err: 0 }, { type: 'error', err: -101 }]);
  });

  it('reads a Stat in zookeeper.jute order', () => {
    const w = new JuteWriter().long(1n).long(2n).long(3n).long(4n).int(5).int(6).int(7).long(8n).int(9).int(10).long(11n);
    expect(readStat(new JuteReader(w.toBuffer()))).toEqual({
      czxid: 1n, mzxid: 2n, ctime: 3, mtime: 4, version: 5, cversion: 6, aversion: 7, ephemeralOwner: 8n, dataLength: 9, numChildren: 10, pzxid: 11n,
    });
  });
});

describe('WatchRegistry', () => {
  it('drops the one-shot watches a notification fired and keeps persistent ones', () => {
    const watches = new WatchRegistry();
    watches.add('data', '/a');
    watches.add('child', '/a');
    watches.add('persistentRecursive', '/a');
    watches.fired('NodeDataChanged', '/a');
    expect([watches.has('data', '/a'), watches.has('child', '/a'), watches.has('persistentRecursive', '/a')]).toEqual([false, true, true]);
    watches.fired('NodeDeleted', '/a');
    expect(watches.has('child', '/a')).toBe(false);
    expect(watches.size).toBe(1);
  });

  it('batches re-registrations by size, every path once', () => {
    const watches = new WatchRegistry();
    for (let i = 0; i < 10; i++) watches.add('exist', `/node-${i}`);
    watches.add('persistent', '/p');
    const batches = watches.setWatches(7n, 40);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.every((b) => b.relativeZxid === 7n)).toBe(true);
    expect(batches.flatMap((b) => [...b.exist, ...b.persistent]).sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `/node-${i}`), '/p'].sort());
  });
});

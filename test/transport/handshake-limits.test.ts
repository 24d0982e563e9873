import { describe, expect, it } from 'vitest';
import { HandshakeAdmission, RefusalLog, sourceOf } from '../../src/transport/handshake-limits.ts';
import { capturedLogger } from './captured-logger.ts';

describe('HandshakeAdmission', () => {
  it('holds each source to its own slots', () => {
    const admission = new HandshakeAdmission(2, 10, new Set());
    expect([admission.admit('10.0.0.9'), admission.admit('10.0.0.9'), admission.admit('10.0.0.9')]).toEqual(['admitted', 'admitted', 'per-source']);
    expect(admission.admit('10.0.0.8')).toBe('admitted');
    admission.release('10.0.0.9');
    expect(admission.admit('10.0.0.9')).toBe('admitted');
  });

  it('keeps a member\'s slots free of the global cap others fill', () => {
    const admission = new HandshakeAdmission(1, 2, new Set(['10.0.0.1']));
    expect([admission.admit('10.0.0.8'), admission.admit('10.0.0.9'), admission.admit('10.0.0.7')]).toEqual(['admitted', 'admitted', 'global']);
    expect(admission.admit('10.0.0.1')).toBe('admitted');
    expect(admission.pending).toBe(3);
  });

  it('treats an IPv4-mapped IPv6 address as its IPv4 source', () => {
    expect(sourceOf('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(sourceOf('::1')).toBe('::1');
  });
});

describe('RefusalLog', () => {
  it('logs one summary line per source per interval, with counts by reason', () => {
    const log = capturedLogger('warn');
    const refusals = new RefusalLog(log.logger, 1, 3);
    for (let i = 0; i < 1000; i++) refusals.record('10.0.0.9', i % 2 === 0 ? 'per-source' : 'timeout');
    refusals.record('10.0.0.8', 'bad-mac');
    refusals.tick();
    refusals.tick();
    expect(log.lines).toEqual([]);
    refusals.tick();
    expect(log.events('peer-handshakes-refused').map((l) => [l['remote'], l['count'], l['reasons']])).toEqual([
      ['10.0.0.9', 1000, { 'per-source': 500, timeout: 500 }],
      ['10.0.0.8', 1, { 'bad-mac': 1 }],
    ]);
    expect(refusals.counts).toMatchObject({ 'per-source': 500, timeout: 500, 'bad-mac': 1 });
    refusals.tick();
    refusals.tick();
    refusals.tick();
    expect(log.lines).toHaveLength(2); // nothing new, nothing logged
  });

  it('sums sources past its bound under "other"', () => {
    const log = capturedLogger('warn');
    const refusals = new RefusalLog(log.logger, 1, 1);
    for (let i = 0; i < 500; i++) refusals.record(`10.0.${i >> 8}.${i & 255}`, 'per-source');
    refusals.flush();
    expect(log.lines.length).toBeLessThanOrEqual(65);
    expect(log.lines.at(-1)).toMatchObject({ remote: 'other', count: 500 - 64 });
  });
});

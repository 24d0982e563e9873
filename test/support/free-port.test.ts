import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freePort } from './corral-process.ts';

describe('freePort', () => {
  it('hands out ports below the kernel ephemeral range, where no port-0 bind or connect can take them', async () => {
    const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    const ports = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    for (const port of ports) expect(port).toBeLessThan(ephemeralLow!);
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('skips a port that is taken', async () => {
    const taken = await freePort();
    // The next one in turn is taken by someone else; freePort must not hand it out.
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(taken + 1, '127.0.0.1', () => r()));
    try {
      const next = await freePort();
      expect(next).not.toBe(taken + 1);
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });
});

import { describe, expect, it } from 'vitest';
import { startWithFreshPorts } from '../../bench/servers/managed-process.ts';

describe('startWithFreshPorts', () => {
  it('starts again when a server could not bind its port, and answers the start that worked', async () => {
    let attempts = 0;
    const started = await startWithFreshPorts(async () => {
      attempts++;
      if (attempts < 3) throw new Error('etcd did not start (exit 1): listen tcp 127.0.0.1:41491: bind: address already in use');
      return 'up';
    });
    expect(started).toBe('up');
    expect(attempts).toBe(3);
  });

  it('gives up after three port clashes with the last error', async () => {
    let attempts = 0;
    await expect(startWithFreshPorts(async () => {
      attempts++;
      throw new Error(`corral did not become ready: Error: listen EADDRINUSE (attempt ${attempts})`);
    })).rejects.toThrow('attempt 3');
    expect(attempts).toBe(3);
  });

  it('does not retry any other failure', async () => {
    let attempts = 0;
    await expect(startWithFreshPorts(async () => {
      attempts++;
      throw new Error('ZooKeeper did not start (timed out)');
    })).rejects.toThrow('timed out');
    expect(attempts).toBe(1);
  });
});

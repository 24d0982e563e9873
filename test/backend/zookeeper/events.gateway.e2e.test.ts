/**
 * The session event-stream suite (test/http/events.e2e.test.ts: event order and ids, which reads
 * set watches, the event before the result, Last-Event-ID replay, the ?token= form) against a
 * gateway over a real ZooKeeper 3.8: its live server is a gateway (gateway-live-server.ts). Event
 * zxids are the gateway's dating of ZooKeeper's notifications, at or after the change's
 * (docs/operations.md), and the suite asserts that there.
 */
import { vi } from 'vitest';
import { overZooKeeper } from './gateway-suite.ts';

vi.mock('../../session/live-server.ts', () => import('./gateway-live-server.ts'));

overZooKeeper({ harnesses: ['live-server'] });
await import('../../http/events.e2e.test.ts');

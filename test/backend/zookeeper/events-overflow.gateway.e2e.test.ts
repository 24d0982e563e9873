/**
 * The session stream's bounded-outbox suite (test/http/events-overflow.e2e.test.ts: overflow only
 * when a reader needed dropped events, resuming after it, a restart's lost events, one stream per
 * session, maxStreams) against a gateway over a real ZooKeeper 3.8: its live server is a gateway
 * (gateway-live-server.ts).
 */
import { vi } from 'vitest';
import { overZooKeeper } from './gateway-suite.ts';

vi.mock('../../session/live-server.ts', () => import('./gateway-live-server.ts'));

overZooKeeper({ harnesses: ['live-server'] });
await import('../../http/events-overflow.e2e.test.ts');

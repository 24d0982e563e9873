/**
 * The session stream's lifecycle suite (test/http/events-lifecycle.e2e.test.ts: heartbeats, a
 * stream keeping its session alive, how a closed or expired session's stream ends, sessions across
 * a restart) against a gateway over a real ZooKeeper 3.8: its live server is a gateway
 * (gateway-live-server.ts), and the ZooKeeper runs with tickTime 100 ms, as the suite's embedded
 * node does, so it grants the suite's 200 ms–2 s session timeouts (ZooKeeper's default 2000 ms
 * tick allows no session under 4 s). Session liveness is ZooKeeper's there (docs/operations.md).
 */
import { vi } from 'vitest';
import { overZooKeeper } from './gateway-suite.ts';

vi.mock('../../session/live-server.ts', () => import('./gateway-live-server.ts'));

overZooKeeper({ harnesses: ['live-server'], tickTimeMs: 100 });
await import('../../http/events-lifecycle.e2e.test.ts');

/** Structured logs (pino): one line per state transition, with greppable fields. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'corral' } });
}

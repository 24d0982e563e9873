/** A pino logger whose lines a test can read and count (as parsed objects). */
import { pino } from 'pino';
import type { Logger } from '../../src/observability/logger.ts';

export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: Array<Record<string, unknown>>;
  /** Lines with this `event` field. */
  events(event: string): Array<Record<string, unknown>>;
}

export function capturedLogger(level = 'info'): CapturedLogger {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines, events: (event) => lines.filter((line) => line['event'] === event) };
}

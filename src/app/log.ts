// Structured JSON logs (pino). Servers log to stdout; CLI commands keep stdout for their output
// and send logs to stderr.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(level: LevelWithSilent, destination: 1 | 2 = 1): Logger {
  return pino({ level, base: { app: 'openwsus' } }, pino.destination({ fd: destination, sync: false }));
}

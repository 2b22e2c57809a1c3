/** Gatehouse's log: JSON lines (pino) at the configured level, each tagged `app: gatehouse`. */
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'gatehouse' } });
}

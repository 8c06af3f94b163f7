// Structured JSON logs (pino). Request logs carry method, route shape, status and timing:
// never bodies, query strings or search values (they hold PHI).
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'hearth' },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], remove: true },
  });
}

// pino JSON logs. Secrets never reach the log: passwords, AUTH payloads and admin parameters are
// redacted wherever they appear in a logged object.
import { pino, type Logger } from 'pino';

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['password', '*.password', 'pass', '*.pass', 'auth', '*.auth', 'params', '*.params', 'credentials', '*.credentials'],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

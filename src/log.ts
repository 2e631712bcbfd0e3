// pino JSON logs. Secrets never reach the log: passwords, AUTH payloads and admin parameters are
// redacted wherever they appear in a logged object. In development on a terminal the same lines can be
// printed for reading instead; the redaction happens before, in pino, either way.
import { pino, type Logger } from 'pino';
import { styleFor, type Style } from './admin/format/style.js';

export type LogFormat = 'json' | 'pretty';

/**
 * `--log-format` when given (undefined when it names no format); else readable lines for `serve --dev`
 * on a terminal, and JSON everywhere else (systemd's journal, a pipe, a file, the tests).
 */
export function chooseLogFormat(given: string | undefined, dev: boolean, stdout: { isTTY?: boolean }): LogFormat | undefined {
  if (given !== undefined) return given === 'json' || given === 'pretty' ? given : undefined;
  return dev && stdout.isTTY === true ? 'pretty' : 'json';
}

export function createLogger(level: string, destination?: NodeJS.WritableStream, format: LogFormat = 'json'): Logger {
  const out = destination ?? (format === 'pretty' ? prettyLogStream(process.stdout) : pino.destination({ dest: 1, sync: false }));
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
    out,
  );
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Shown elsewhere on the line, or the same on every line. */
const PLACED = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'svc', 'cid', 'err']);

function levelWord(level: number, style: Style): string {
  const word = (LEVELS[level] ?? String(level)).padEnd(5);
  if (level >= 50) return style.bad(word);
  if (level >= 40) return style.warn(word);
  return level <= 20 ? style.dim(word) : style.good(word);
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** One JSON log line as `12:03:04.120 INFO  smtp c3f1 message accepted  msgid=... size=2048`, an error's stack under it. */
export function prettyLine(json: string, style: Style): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const where = [entry.svc, entry.cid].filter((v) => typeof v === 'string').join(' ');
  const fields = Object.entries(entry)
    .filter(([key]) => !PLACED.has(key))
    .map(([key, value]) => style.dim(`${key}=`) + fieldText(value));
  const head = [style.dim(time), levelWord(Number(entry.level), style), where && style.bold(where), String(entry.msg ?? '')].filter(Boolean).join(' ');
  const err = entry.err as { type?: string; message?: string; stack?: string } | undefined;
  const stack = err ? `\n    ${(err.stack ?? `${err.type ?? 'Error'}: ${err.message ?? ''}`).split('\n').join('\n    ')}` : '';
  return `${head}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}${stack}`;
}

/** A destination for pino that prints each line for reading; colour only on a terminal without NO_COLOR. */
export function prettyLogStream(out: NodeJS.WriteStream): { write(line: string): boolean } {
  const style = styleFor(out);
  return {
    write: (chunk) => {
      for (const line of chunk.split('\n')) if (line) out.write(prettyLine(line, style) + '\n');
      return true;
    },
  };
}

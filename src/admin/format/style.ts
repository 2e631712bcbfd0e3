// What every command's text output is made of: colour that only a person at a terminal sees, sizes and
// times in the units people read, and columns that line up.

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  good(text: string): string;
  warn(text: string): string;
  bad(text: string): string;
}

const plain: Style = { bold: (t) => t, dim: (t) => t, good: (t) => t, warn: (t) => t, bad: (t) => t };

function ansi(open: number, close: number): (text: string) => string {
  return (text) => `\x1b[${open}m${text}\x1b[${close}m`;
}

const coloured: Style = { bold: ansi(1, 22), dim: ansi(2, 22), good: ansi(32, 39), warn: ansi(33, 39), bad: ansi(31, 39) };

/** Colour only on a terminal, and never when NO_COLOR is set to anything (no-color.org). */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  return stream.isTTY === true && !noColor ? coloured : plain;
}

export const noStyle = plain;

const SIZE_UNITS = ['KB', 'MB', 'GB', 'TB'];

/** `0 B`, `812 B`, `4.2 KB`, `37 MB`: one decimal below 10 of a unit, none above (as `df -h`). */
export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 'B';
  for (const next of SIZE_UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value).toString()} ${unit}`;
}

/** A span of time as people say it: `40 s`, `3 min`, `5 h`, `2 days`. */
export function span(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  const days = Math.floor(hours / 24);
  return `${days} days`;
}

/** `3 min ago`; `just now` within a few seconds. */
export function ago(at: number, now: number): string {
  return now - at < 5_000 ? 'just now' : `${span(now - at)} ago`;
}

/** `in 12 min`; `now` once due. */
export function until(at: number, now: number): string {
  return at - now < 1_000 ? 'now' : `in ${span(at - now)}`;
}

/** `1 message`, `3 messages`. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

// eslint-disable-next-line no-control-regex -- the escape sequences this file writes
const ESCAPES = /\x1b\[[0-9;]*m/g;

function width(text: string): number {
  return text.replace(ESCAPES, '').length;
}

/** Rows as lines with each column as wide as its widest cell, two spaces apart; the last column is not padded. */
export function columns(rows: string[][], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell)))).join('  ').trimEnd());
}

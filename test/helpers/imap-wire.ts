// Driving src/imap/wire/ in tests: feed a byte script to a CommandParser in chunks of a given size,
// doing what a connection does when the parser pauses, and write the events as readable lines.
import { CommandParser, type ParserOptions } from '../../src/imap/wire/command-parser.js';
import type { ImapValue, ParseEvent } from '../../src/imap/wire/values.js';

/** How a connection would go on after a pausing command: read one raw line first (IDLE, AUTHENTICATE). */
export interface FeedOptions extends ParserOptions {
  readonly lineAfter?: readonly string[];
}

/** Strings in a dump: JSON of their latin1 reading, so 8-bit bytes and CRLFs show as escapes. */
function bytesText(bytes: Buffer): string {
  return JSON.stringify(bytes.toString('latin1'));
}

export function dumpValue(value: ImapValue): string {
  switch (value.kind) {
    case 'atom': {
      const section = value.section ? `[${value.section.map(dumpValue).join(' ')}]` : '';
      const partial = value.partial ? `<${value.partial.offset}.${value.partial.length}>` : '';
      return `${value.text}${section}${partial}`;
    }
    case 'number':
      return `#${value.text}`;
    case 'sequence':
      return `seq:${value.text}`;
    case 'nil':
      return `NIL:${value.text}`;
    case 'string':
      return value.form === 'quoted' ? bytesText(value.value) : `${value.form === 'literal8' ? '~' : ''}{${value.value.length}}${bytesText(value.value)}`;
    case 'list':
      return `(${value.items.map(dumpValue).join(' ')})`;
  }
}

export function dumpEvent(event: ParseEvent): string {
  switch (event.kind) {
    case 'command':
      return [event.command.tag, event.command.name, ...event.command.args.map(dumpValue)].join(' ');
    case 'continue':
      return `+ ${event.tag} ${event.command} ${event.size}`;
    case 'line':
      return `line ${bytesText(event.bytes)}`;
    case 'error': {
      const { code, tag, fatal, message } = event.error;
      return `error ${code} ${tag ?? '*'}${fatal ? ' fatal' : ''}: ${message}`;
    }
  }
}

/** Resumes a paused parser the way a connection would, collecting what that yields. */
export function settle(parser: CommandParser, events: ParseEvent[], lineAfter: ReadonlySet<string>): void {
  while (parser.paused) {
    const last = events.at(-1);
    if (last?.kind === 'command' && lineAfter.has(last.command.name)) events.push(...parser.readLine());
    else events.push(...parser.resume());
  }
}

/** Every event of `script` fed in chunks of `size` bytes (the whole script at once when size is 0). */
export function feed(script: Buffer, size: number, options: FeedOptions = {}): { events: ParseEvent[]; parser: CommandParser; maxBuffered: number } {
  const parser = new CommandParser(options);
  const lineAfter = new Set(options.lineAfter ?? ['IDLE', 'AUTHENTICATE']);
  const events: ParseEvent[] = [];
  const step = size > 0 ? size : Math.max(script.length, 1);
  let maxBuffered = 0;
  for (let pos = 0; pos < script.length; pos += step) {
    events.push(...parser.push(script.subarray(pos, pos + step)));
    settle(parser, events, lineAfter);
    maxBuffered = Math.max(maxBuffered, parser.buffered);
  }
  return { events, parser, maxBuffered };
}

/** Fed at split points instead of a fixed size (for property tests). */
export function feedSplit(script: Buffer, cuts: readonly number[], options: FeedOptions = {}): { events: ParseEvent[]; maxBuffered: number } {
  const parser = new CommandParser(options);
  const lineAfter = new Set(options.lineAfter ?? ['IDLE', 'AUTHENTICATE']);
  const events: ParseEvent[] = [];
  const points = [...new Set(cuts.map((c) => Math.min(c, script.length)))].sort((a, b) => a - b);
  let from = 0;
  let maxBuffered = 0;
  for (const to of [...points, script.length]) {
    if (to <= from) continue;
    events.push(...parser.push(script.subarray(from, to)));
    settle(parser, events, lineAfter);
    maxBuffered = Math.max(maxBuffered, parser.buffered);
    from = to;
  }
  return { events, maxBuffered };
}

/** A script from pieces: strings are latin1 (so `\xe9` is one byte), buffers are taken as they are. */
export function script(...pieces: (string | Buffer)[]): Buffer {
  return Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
}

// RFC 5322 pieces that more than one part of the appliance needs: the date-time of 3.3, where a header
// block ends (2.1), what a header block holds (2.2, with unfolding of 2.2.3), and a value made one line.
// One implementation of each, so that SMTP, the queue's DSNs and delivery agree.

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * RFC 5322 3.3 date-time with a numeric zone: the server's local offset for what people read (Date:,
 * Received:), UTC where the same instant should always read the same (DSN fields).
 */
export function rfc5322Date(date = new Date(), zone: 'local' | 'utc' = 'local'): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const utc = zone === 'utc';
  const offset = utc ? 0 : -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const at = utc
    ? { day: date.getUTCDay(), date: date.getUTCDate(), month: date.getUTCMonth(), year: date.getUTCFullYear(), h: date.getUTCHours(), m: date.getUTCMinutes(), s: date.getUTCSeconds() }
    : { day: date.getDay(), date: date.getDate(), month: date.getMonth(), year: date.getFullYear(), h: date.getHours(), m: date.getMinutes(), s: date.getSeconds() };
  const numericZone = `${sign}${pad(Math.floor(Math.abs(offset) / 60))}${pad(Math.abs(offset) % 60)}`;
  return `${DAYS[at.day]}, ${at.date} ${MONTHS[at.month]} ${at.year} ${pad(at.h)}:${pad(at.m)}:${pad(at.s)} ${numericZone}`;
}

/**
 * Finds the empty line that ends the header block (RFC 5322 2.1), fed one chunk at a time so that no
 * chunk is searched twice and a line break split between chunks is still seen. Lines may end in CRLF
 * or, from careless clients, in a bare LF; a block may mix the two.
 */
export class BlankLineFinder {
  // At the start of a line (the message's first byte starts one), and whether that line began with CR.
  private atLineStart = true;
  private crAtLineStart = false;

  /** Offset where the empty line starts, or -1 when it is not in the bytes seen so far. */
  scan(chunk: Buffer, offset: number): number {
    let i = 0;
    while (i < chunk.length) {
      const byte = chunk[i];
      if (this.crAtLineStart) {
        if (byte === 0x0a) return offset + i - 1;
        this.crAtLineStart = false;
        this.atLineStart = false;
      } else if (this.atLineStart) {
        if (byte === 0x0a) return offset + i;
        this.crAtLineStart = byte === 0x0d;
        this.atLineStart = this.crAtLineStart;
        i += 1;
        continue;
      }
      // Inside a line: skip to its end.
      const lf = chunk.indexOf(0x0a, i);
      if (lf < 0) return -1;
      this.atLineStart = true;
      i = lf + 1;
    }
    return -1;
  }
}

/** The names of the header fields in a header block, lower-cased. */
export function headerNames(block: string): Set<string> {
  const names = new Set<string>();
  for (const line of block.split(/\r?\n/)) {
    const match = /^([!-9;-~]+):/.exec(line);
    if (match?.[1]) names.add(match[1].toLowerCase());
  }
  return names;
}

/** The unfolded values of every header named `name` (case-insensitive) in a header block. */
export function headerValues(block: string, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  let current: string | undefined;
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line)) {
      if (current !== undefined) current += ` ${line.trim()}`;
      continue;
    }
    if (current !== undefined) values.push(current);
    const colon = line.indexOf(':');
    current = colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted ? line.slice(colon + 1).trim() : undefined;
  }
  if (current !== undefined) values.push(current);
  return values;
}

/** Line breaks (a multi-line SMTP reply) become spaces; other control characters go; runs of space collapse. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\r\n\t]+/g, ' ').replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, '').replace(/ {2,}/g, ' ').trim();
}

// Sequence sets: RFC 3501 9 ("sequence-set", "seq-range", "seq-number") with `*` for the largest
// number in use, and RFC 5182 3 ("seq-last-command", `$`: the result saved by the last SEARCH).

/** A message sequence number or UID, or `*` (RFC 3501 9 "seq-number"). */
export type SeqNumber = number | '*';

/** `start:end` as sent; the RFC allows either order (`5:2` is `2:5`, RFC 3501 9 "seq-range"). */
export interface SeqRange {
  readonly start: SeqNumber;
  readonly end: SeqNumber;
}

/** `ranges` in the order sent; `lastResult` when the set ends in `$` (RFC 5182 3). */
export interface SequenceSet {
  readonly ranges: readonly SeqRange[];
  readonly lastResult: boolean;
}

/** RFC 3501 9: "nz-number ... Non-zero unsigned 32-bit integer". */
export const MAX_SEQ_NUMBER = 0xffff_ffff;

/** `nz-number` (no leading zero, 1 to 2^32-1) or `*`; null otherwise. */
function parseSeqNumber(text: string): SeqNumber | null {
  if (text === '*') return '*';
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return null;
  const value = Number(text);
  return value <= MAX_SEQ_NUMBER ? value : null;
}

/**
 * Reads `1:*`, `2,4:7,9`, `$`, `1,$` (RFC 5182 grammar lets `$` end a set: sequence-set =/ seq-last-command
 * through the recursive tail). Null when `text` is not a sequence set.
 */
export function parseSequenceSet(text: string): SequenceSet | null {
  if (text.length === 0) return null;
  const items = text.split(',');
  const ranges: SeqRange[] = [];
  let lastResult = false;
  for (const [index, item] of items.entries()) {
    if (item === '$') {
      if (index !== items.length - 1) return null;
      lastResult = true;
      continue;
    }
    const bounds = item.split(':');
    if (bounds.length > 2) return null;
    const start = parseSeqNumber(bounds[0] ?? '');
    const end = bounds.length === 2 ? parseSeqNumber(bounds[1] ?? '') : start;
    if (start === null || end === null) return null;
    ranges.push({ start, end });
  }
  return { ranges, lastResult };
}

/** The wire form: `n`, `n:m`, `*`, `$`, joined by commas. */
export function formatSequenceSet(set: SequenceSet): string {
  const items = set.ranges.map((r) => (r.start === r.end ? String(r.start) : `${r.start}:${r.end}`));
  if (set.lastResult) items.push('$');
  return items.join(',');
}

/**
 * The shortest set naming exactly `numbers` (for UIDPLUS's COPYUID/APPENDUID, RFC 4315 3, and ESEARCH
 * ALL, RFC 4731 3.1): sorted, duplicates dropped, runs made ranges.
 */
export function compactSequenceSet(numbers: Iterable<number>): SequenceSet {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const ranges: SeqRange[] = [];
  let start: number | undefined;
  let previous = 0;
  for (const n of sorted) {
    if (start !== undefined && n === previous + 1) {
      previous = n;
      continue;
    }
    if (start !== undefined) ranges.push({ start, end: previous });
    start = n;
    previous = n;
  }
  if (start !== undefined) ranges.push({ start, end: previous });
  return { ranges, lastResult: false };
}

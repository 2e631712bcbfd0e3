// SELECT and EXAMINE parameters (RFC 4466 2.1, RFC 7162 3.1.8 and 3.2.5):
//   select-params     = SP "(" select-param *(SP select-param) ")"
//   select-param      = "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
//                       [SP known-uids] [SP seq-match-data] ")"
//   seq-match-data    = "(" known-sequence-set SP known-uid-set ")"
import { keyword, listArg, numberArg, sequenceArg } from '../wire/arguments.js';
import type { SequenceSet } from '../wire/sequence-set.js';
import type { ImapValue } from '../wire/values.js';

export interface QresyncParams {
  readonly uidValidity: number;
  readonly modseq: number;
  /** UIDs the client knows; VANISHED and FETCH are limited to them. */
  readonly knownUids: SequenceSet | null;
}

export interface SelectParams {
  readonly condstore: boolean;
  readonly qresync: QresyncParams | null;
}

/** RFC 7162 7 mod-sequence-value: 1 to 2^63-1; the parser leaves numbers past 2^53 as atoms. */
function modseqArg(value: ImapValue | undefined): number | null {
  if (value?.kind === 'number') return value.value;
  if (value?.kind === 'atom' && !value.section && /^[1-9]\d{0,18}$/.test(value.text) && BigInt(value.text) < 2n ** 63n) return Number(value.text);
  return null;
}

function readQresync(items: readonly ImapValue[] | null): QresyncParams | null {
  if (items === null || items.length < 2 || items.length > 4) return null;
  const uidValidity = numberArg(items[0]);
  const modseq = modseqArg(items[1]);
  if (uidValidity === null || uidValidity < 1 || modseq === null) return null;
  let knownUids: SequenceSet | null = null;
  let next = 2;
  if (items[2] && items[2].kind !== 'list') {
    knownUids = sequenceArg(items[2]);
    if (knownUids === null || knownUids.lastResult) return null;
    next = 3;
  }
  const match = items[next];
  if (match) {
    // Checked for form only: expunges are remembered here, so the known UIDs suffice.
    const pair = listArg(match);
    if (pair === null || pair.length !== 2 || !sequenceArg(pair[0]) || !sequenceArg(pair[1])) return null;
    if (next + 1 !== items.length) return null;
  } else if (next !== items.length) return null;
  return { uidValidity, modseq, knownUids };
}

/** The parameters, or a text for BAD. */
export function readSelectParams(value: ImapValue | undefined): SelectParams | string {
  if (value === undefined) return { condstore: false, qresync: null };
  const items = listArg(value);
  if (items === null) return 'SELECT parameters are a list';
  let condstore = false;
  let qresync: QresyncParams | null = null;
  for (let i = 0; i < items.length; i += 1) {
    const name = keyword(items[i]);
    if (name === 'CONDSTORE') condstore = true;
    else if (name === 'QRESYNC') {
      qresync = readQresync(listArg(items[i + 1]));
      if (qresync === null) return 'QRESYNC takes (uidvalidity modseq [known-uids [(sequences uids)]])';
      i += 1;
    } else return 'Unknown SELECT parameter';
  }
  return { condstore, qresync };
}

/** Whether `uid` is in `set`, `*` standing for `largest` (RFC 3501 9, a range read in either order). */
export function setHas(set: SequenceSet, uid: number, largest: number): boolean {
  return set.ranges.some((range) => {
    const a = range.start === '*' ? largest : range.start;
    const b = range.end === '*' ? largest : range.end;
    return uid >= Math.min(a, b) && uid <= Math.max(a, b);
  });
}

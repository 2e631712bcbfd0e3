// SEARCH SENTBEFORE/SENTON/SENTSINCE compare "the Date: header (disregarding time and timezone)"
// (RFC 3501 6.4.4): the day as the sender wrote it, not that instant in UTC or in our zone.

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_MONTH_YEAR = /(\d{1,2})\s+([a-z]{3})[a-z]*\.?\s+(\d{2,4})\b/i;

/** The written day of an RFC 5322 date, as 00:00 UTC of that day; null when it cannot be read. */
export function sentDay(dateField: string | null): Date | null {
  if (!dateField) return null;
  const match = DAY_MONTH_YEAR.exec(dateField);
  if (match) {
    const day = Number(match[1]);
    const month = MONTHS.indexOf(match[2]!.toLowerCase());
    let year = Number(match[3]);
    // RFC 5322 4.3: two-digit years below 50 are 20xx, others 19xx; three digits add 1900.
    if (match[3]!.length === 2) year += year < 50 ? 2000 : 1900;
    else if (match[3]!.length === 3) year += 1900;
    if (month >= 0 && day >= 1 && day <= 31) return new Date(Date.UTC(year, month, day));
  }
  const parsed = Date.parse(dateField);
  if (Number.isNaN(parsed)) return null;
  const instant = new Date(parsed);
  return new Date(Date.UTC(instant.getUTCFullYear(), instant.getUTCMonth(), instant.getUTCDate()));
}

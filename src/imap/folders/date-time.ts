// RFC 3501 9 date-time, as APPEND's internal date: `"dd-Mon-yyyy hh:mm:ss +zzzz"`, the day either two
// digits or a space and a digit (date-day-fixed). Read strictly: a date that does not exist (31-Apr),
// an hour of 24 or a zone minute of 60 is refused, for the command to answer BAD.

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

const DATE_TIME = /^([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

function daysInMonth(year: number, month: number): number {
  const last = new Date(0);
  last.setUTCFullYear(year, month + 1, 0);
  return last.getUTCDate();
}

/** The instant a date-time names, or null when it is not a valid RFC 3501 date-time. */
export function parseDateTime(text: string): Date | null {
  const m = DATE_TIME.exec(text);
  if (!m) return null;
  const [, dayText, monthText, yearText, hh, mm, ss, sign, zh, zm] = m as unknown as string[];
  // date-day-fixed: " 1" or "01", never "1 " nor "  ".
  if (!/^( \d|\d\d)$/.test(dayText as string)) return null;
  const month = MONTHS.indexOf((monthText as string).toUpperCase());
  const day = Number((dayText as string).trim());
  const year = Number(yearText);
  const [hour, minute, second, zoneHours, zoneMinutes] = [hh, mm, ss, zh, zm].map(Number) as [number, number, number, number, number];
  if (month < 0 || day < 1 || day > daysInMonth(year, month)) return null;
  // RFC 3501 9 "time" allows a leap second's 60; Date rolls it into the next minute.
  if (hour > 23 || minute > 59 || second > 60 || zoneMinutes > 59 || zoneHours > 23) return null;
  const offsetMinutes = (zoneHours * 60 + zoneMinutes) * (sign === '-' ? -1 : 1);
  // setUTCFullYear, not Date.UTC, which reads years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  date.setUTCHours(hour, minute, second, 0);
  date.setTime(date.getTime() - offsetMinutes * 60_000);
  return date;
}

/** A date as an RFC 3501 date-time in UTC (for tests and logs). */
export function formatDateTime(date: Date): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const day = String(date.getUTCDate()).padStart(2, ' ');
  const month = MONTHS[date.getUTCMonth()] as string;
  const monthName = month[0] + month.slice(1).toLowerCase();
  return `${day}-${monthName}-${pad(date.getUTCFullYear(), 4)} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

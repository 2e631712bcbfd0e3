// APPEND's date-time (src/imap/folders/date-time.ts, RFC 3501 9): read strictly.
import t from 'tap';
import { formatDateTime, parseDateTime } from '../../src/imap/folders/date-time.js';

t.test('valid date-times give the instant they name', async (t) => {
  const cases: [string, string][] = [
    ['17-Jul-1996 02:44:25 -0700', '1996-07-17T09:44:25.000Z'],
    [' 1-Jan-2020 00:00:00 +0000', '2020-01-01T00:00:00.000Z'],
    ['01-jan-2020 00:00:00 +0000', '2020-01-01T00:00:00.000Z'],
    ['29-Feb-2024 23:59:59 +0130', '2024-02-29T22:29:59.000Z'],
    ['31-Dec-1999 23:00:00 -0100', '2000-01-01T00:00:00.000Z'],
    ['05-MAR-0099 12:00:00 +0000', '0099-03-05T12:00:00.000Z'],
  ];
  for (const [text, want] of cases) t.equal(parseDateTime(text)?.toISOString(), want, text);
});

t.test('malformed or impossible date-times are refused', async (t) => {
  const cases = [
    '',
    '1-Jan-2020 00:00:00 +0000',
    '1 -Jan-2020 00:00:00 +0000',
    '  -Jan-2020 00:00:00 +0000',
    '01-Jan-20 00:00:00 +0000',
    '01-Jan-2020 00:00 +0000',
    '01-Jan-2020 00:00:00',
    '01-Jan-2020 00:00:00 0000',
    '01-Jan-2020 00:00:00 +000',
    '01-Jan-2020 00:00:00 +0060',
    '01-Jan-2020 24:00:00 +0000',
    '01-Jan-2020 00:60:00 +0000',
    '31-Apr-2020 00:00:00 +0000',
    '29-Feb-2023 00:00:00 +0000',
    '00-Jan-2020 00:00:00 +0000',
    '01-Jnu-2020 00:00:00 +0000',
    '01-Jan-2020  00:00:00 +0000',
    '01-Jan-2020 00:00:00 +0000 ',
    'Wed, 01 Jan 2020 00:00:00 +0000',
    '01-Jan-2020T00:00:00 +0000',
  ];
  for (const text of cases) t.equal(parseDateTime(text), null, JSON.stringify(text));
});

t.test('formatDateTime writes what parseDateTime reads', async (t) => {
  const date = new Date('2021-06-05T04:03:02Z');
  t.equal(formatDateTime(date), ' 5-Jun-2021 04:03:02 +0000');
  t.equal(parseDateTime(formatDateTime(date))?.getTime(), date.getTime());
});

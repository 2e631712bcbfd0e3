// The pieces the commands' text is made of: units people read, columns that line up, colour only on a
// terminal without NO_COLOR, the "did you mean" of a slip, and the readable log line.
import t from 'tap';
import { ago, columns, size, span, styleFor, until } from '../../src/admin/format/style.js';
import { closest, editDistance } from '../../src/admin/help.js';
import { chooseLogFormat, prettyLine } from '../../src/log.js';

t.test('sizes and times in the units people read', async (t) => {
  t.same([0, 812, 1024, 4300, 37 * 1024 * 1024, 5.5 * 1024 ** 3].map(size), ['0 B', '812 B', '1.0 KB', '4.2 KB', '37 MB', '5.5 GB']);
  t.same([40_000, 3 * 60_000, 5 * 3_600_000, 3 * 86_400_000].map(span), ['40 s', '3 min', '5 h', '3 days']);
  const now = Date.parse('2025-03-01T12:00:00Z');
  t.equal(ago(now - 2_000, now), 'just now');
  t.equal(ago(now - 3 * 60_000, now), '3 min ago');
  t.equal(until(now + 12 * 60_000, now), 'in 12 min');
  t.equal(until(now - 1, now), 'now');
});

t.test('columns line up, escape sequences not counted', async (t) => {
  const bold = styleFor({ isTTY: true }, {}).bold;
  t.same(columns([[bold('ID'), 'SIZE', 'FROM'], ['a1', '4.2 KB', 'alice@letterbox.test'], ['b22', '0 B', '']]), [
    `${bold('ID')}   SIZE    FROM`,
    'a1   4.2 KB  alice@letterbox.test',
    'b22  0 B',
  ]);
});

t.test('colour on a terminal only, and never with NO_COLOR', async (t) => {
  t.equal(styleFor({ isTTY: true }, {}).bad('x'), '\x1b[31mx\x1b[39m');
  t.equal(styleFor({ isTTY: false }, {}).bad('x'), 'x');
  t.equal(styleFor({ isTTY: true }, { NO_COLOR: '1' }).bad('x'), 'x');
});

t.test('the closest known command or option, when near enough', async (t) => {
  t.equal(editDistance('stauts', 'status'), 1, 'two letters swapped are one slip');
  t.equal(closest('stauts', ['serve', 'status', 'domain', 'user']), 'status');
  t.equal(closest('stat', ['serve', 'status']), 'status', 'a prefix');
  t.equal(closest('--jsno', ['--json', '--config']), '--json');
  t.equal(closest('frobnicate', ['serve', 'status']), undefined, 'nothing when nothing is near');
});

t.test('log format: pretty for --dev on a terminal, JSON elsewhere, --log-format decides', async (t) => {
  t.equal(chooseLogFormat(undefined, true, { isTTY: true }), 'pretty');
  t.equal(chooseLogFormat(undefined, true, { isTTY: false }), 'json');
  t.equal(chooseLogFormat(undefined, false, { isTTY: true }), 'json');
  t.equal(chooseLogFormat('pretty', false, { isTTY: false }), 'pretty');
  t.equal(chooseLogFormat('json', true, { isTTY: true }), 'json');
  t.equal(chooseLogFormat('xml', true, { isTTY: true }), undefined);
});

t.test('a log line for reading', async (t) => {
  const plain = styleFor({ isTTY: false });
  const line = JSON.stringify({ level: 30, time: '2025-03-01T12:03:04.120Z', pid: 7, svc: 'smtps', cid: 'c3f1', msgid: 'm9', size: 2048, subject: 'two words', msg: 'message accepted' });
  t.equal(prettyLine(line, plain), '12:03:04.120 INFO  smtps c3f1 message accepted  msgid=m9 size=2048 subject="two words"');
  const failed = JSON.stringify({ level: 50, time: '2025-03-01T12:03:04.120Z', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' }, msg: 'event listener failed' });
  t.equal(prettyLine(failed, plain), '12:03:04.120 ERROR event listener failed\n    Error: boom\n        at x');
  t.equal(prettyLine('not json', plain), 'not json', 'anything else passes through');
});

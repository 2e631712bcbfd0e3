// The IMAP command parser as a connection uses it (src/imap/wire/): the typed tree a handler reads,
// continuation requests and refusing them, pausing around STARTTLS, IDLE and AUTHENTICATE, and the
// memory bounds that hold whatever a client sends.
import t from 'tap';
import { astringText, keyword, listArg, numberArg, sequenceArg } from '../../src/imap/wire/arguments.js';
import { CommandParser } from '../../src/imap/wire/command-parser.js';
import type { ImapCommand, ParseEvent } from '../../src/imap/wire/values.js';
import { dumpEvent, feed, script } from '../helpers/imap-wire.js';

function only(events: readonly ParseEvent[]): ImapCommand {
  const commands = events.flatMap((e) => (e.kind === 'command' ? [e.command] : []));
  if (commands.length !== 1) throw new Error(`expected one command, got ${events.map(dumpEvent).join(' | ')}`);
  return commands[0] as ImapCommand;
}

t.test('the typed tree of a FETCH', async (t) => {
  const command = only(new CommandParser().push(script('f1 uid fetch 1,3:5,7:*,$ (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)\r\n')));
  t.equal(command.tag, 'f1');
  t.equal(command.name, 'UID FETCH');
  t.same(sequenceArg(command.args[0]), {
    ranges: [
      { start: 1, end: 1 },
      { start: 3, end: 5 },
      { start: 7, end: '*' },
    ],
    lastResult: true,
  });
  const items = listArg(command.args[1]) ?? [];
  t.equal(keyword(items[0]), 'FLAGS');
  const body = items[1];
  t.match(body, { kind: 'atom', text: 'BODY.PEEK', partial: { offset: 0, length: 100 } });
  if (body?.kind !== 'atom') return;
  t.equal(keyword(body.section?.[0]), 'HEADER.FIELDS');
  t.same((listArg(body.section?.[1]) ?? []).map(astringText), ['From', 'To']);
  t.equal(keyword(body), null, 'an atom with a section is not a plain keyword');
});

t.test('8-bit bytes in literals arrive unchanged, as Buffers', async (t) => {
  const data = Buffer.from([0x00, 0x0d, 0x0a, 0x80, 0xff, 0xe9, 0x0d, 0x0a]);
  const command = only(new CommandParser().push(script(`a APPEND INBOX {${data.length}+}\r\n`, data, '\r\n')));
  const literal = command.args[1];
  t.ok(literal?.kind === 'string' && Buffer.isBuffer(literal.value) && literal.value.equals(data));
});

t.test('numbers, astrings and what a handler reads from them', async (t) => {
  const command = only(new CommandParser().push(script('n1 X 4294967295 99999999999999999999 0 007 NIL "caf\xc3\xa9" "\xff"\r\n')));
  const [max, huge, zero, padded, nil, utf8, bad] = command.args;
  t.equal(numberArg(max), 4294967295);
  t.match(huge, { kind: 'atom', text: '99999999999999999999' }, 'beyond exact numbers: left an atom');
  t.equal(sequenceArg(zero), null, '0 is no sequence number');
  t.same(sequenceArg(max), { ranges: [{ start: 4294967295, end: 4294967295 }], lastResult: false });
  t.equal(astringText(padded), '007', 'a mailbox named 007 keeps its zeros');
  t.equal(astringText(nil), 'NIL', 'NIL is also an astring');
  t.equal(astringText(utf8), 'café');
  t.equal(astringText(bad), null, 'invalid UTF-8 is no text');
});

t.test('a synchronizing literal: continue, or refuse with rejectLiteral()', async (t) => {
  const parser = new CommandParser();
  t.same(parser.push(script('a1 APPEND INBOX {5}\r\n')).map(dumpEvent), ['+ a1 APPEND 5']);
  t.same(parser.push(script('hello\r\n')).map(dumpEvent), ['a1 APPEND INBOX {5}"hello"']);
  t.same(parser.push(script('a2 APPEND INBOX {500}\r\n')).map(dumpEvent), ['+ a2 APPEND 500']);
  parser.rejectLiteral(); // answered `a2 NO [OVERQUOTA]` instead of `+`
  t.same(parser.push(script('a3 NOOP\r\n')).map(dumpEvent), ['a3 NOOP']);
  t.same(parser.push(script('a4 X {3+}\r\n')), []);
  parser.rejectLiteral(); // no effect on a non-synchronizing literal: its bytes are coming
  t.same(parser.push(script('abc\r\n')).map(dumpEvent), ['a4 X {3}"abc"']);
});

t.test('STARTTLS: the parser pauses, and bytes sent after the command can be thrown away', async (t) => {
  const parser = new CommandParser();
  const events = parser.push(script('s1 STARTTLS\r\ns2 LOGIN injected command\r\n'));
  t.same(events.map(dumpEvent), ['s1 STARTTLS']);
  t.ok(parser.paused);
  t.same(parser.push(script('more\r\n')), [], 'held while paused');
  t.equal(parser.takeHeld().toString('latin1'), 's2 LOGIN injected command\r\nmore\r\n');
  t.same(parser.resume(), []);
  t.same(parser.push(script('s3 NOOP\r\n')).map(dumpEvent), ['s3 NOOP']);
});

t.test('IDLE: DONE is a raw line; resume() reads on', async (t) => {
  const parser = new CommandParser();
  t.same(parser.push(script('i1 IDLE\r\nDO')).map(dumpEvent), ['i1 IDLE']);
  t.same(parser.readLine(), [], 'not a whole line yet');
  t.same(parser.push(script('NE\r\ni2 NOOP\r\n')).map(dumpEvent), ['line "DONE"']);
  t.ok(parser.paused);
  t.same(parser.resume().map(dumpEvent), ['i2 NOOP']);
  t.same(parser.resume(), [], 'resume() when not paused does nothing');
});

t.test('pausing can be switched off, and configured', async (t) => {
  const parser = new CommandParser({ pauseAfter: ['XSTOP'] });
  t.same(parser.push(script('a IDLE\r\nb XSTOP\r\nc NOOP\r\n')).map(dumpEvent), ['a IDLE', 'b XSTOP']);
  t.same(parser.resume().map(dumpEvent), ['c NOOP']);
});

t.test('a client that keeps sending while the parser is paused is cut off', async (t) => {
  const parser = new CommandParser({ maxLineLength: 100 });
  t.same(parser.push(script('a IDLE\r\n')).map(dumpEvent), ['a IDLE']);
  t.same(parser.push(Buffer.alloc(60, 0x41)), []);
  t.same(parser.push(Buffer.alloc(60, 0x41)).map(dumpEvent), ['error unexpected-data * fatal: Data sent before the server answered']);
  t.ok(parser.closed);
  t.equal(parser.buffered, 0);
  t.same(parser.push(script('b NOOP\r\n')), [], 'nothing is read after a fatal error');
});

t.test('memory stays within the limits whatever the client sends', async (t) => {
  const limits = { maxLineLength: 1024, maxLiteralSize: 4096, maxSkipSize: 1 << 20 };
  const longLine = feed(script('a1 LOGIN ', 'x'.repeat(200_000), '\r\na2 NOOP\r\n'), 1000, limits);
  t.same(longLine.events.map(dumpEvent), ['error line-too-long a1: Command line too long', 'a2 NOOP']);
  t.ok(longLine.maxBuffered <= 1024, `a long line: at most ${longLine.maxBuffered} bytes held`);

  const skipped = feed(script('a3 APPEND INBOX {500000+}\r\n', 'y'.repeat(500_000), '\r\na4 NOOP\r\n'), 1000, limits);
  t.same(skipped.events.map(dumpEvent), ['error literal-too-large a3: Literal too large (limit 4096 octets)', 'a4 NOOP']);
  t.ok(skipped.maxBuffered <= 1024, `a skipped literal: at most ${skipped.maxBuffered} bytes held`);

  const taken = feed(script('a5 APPEND INBOX {4096+}\r\n', 'z'.repeat(4096), '\r\n'), 1000, limits);
  t.same(taken.events.map((e) => e.kind), ['command']);
  t.ok(taken.maxBuffered <= 4096 + 1024, `a literal at the limit: at most ${taken.maxBuffered} bytes held`);
});

t.test('an absurd literal size is refused, not parsed into a huge number', async (t) => {
  const parser = new CommandParser({ maxLiteralSize: 100 });
  t.same(parser.push(script('a APPEND INBOX {99999999999999999999999}\r\nb NOOP\r\n')).map(dumpEvent), [
    'error literal-too-large a: Literal too large (limit 100 octets)',
    'b NOOP',
  ]);
  t.same(parser.push(script('c APPEND INBOX {99999999999999999999999+}\r\n')).map((e) => e.kind === 'error' && e.error.fatal), [true]);
});

// Property tests (fast-check) over src/imap/wire/: no input makes push() throw, report an internal
// error, hold more than the limits, or depend on how it was cut into chunks; and well-formed commands
// written by the encoder come back from the parser as they were (issue 7, "What the tests must show").
import fc from 'fast-check';
import t from 'tap';
import { astringBytes, sequenceArg } from '../../src/imap/wire/arguments.js';
import { astr, atom, list, literal8, NIL, num, ResponseEncoder, seq, str, type ResponseValue } from '../../src/imap/wire/encoder.js';
import { decodeMailboxName, encodeMailboxName } from '../../src/imap/wire/mailbox-name.js';
import { formatSequenceSet, type SeqNumber } from '../../src/imap/wire/sequence-set.js';
import type { ImapValue, ParseEvent } from '../../src/imap/wire/values.js';
import { dumpEvent, feedSplit, type FeedOptions } from '../helpers/imap-wire.js';

const RUNS = 300;
const small: FeedOptions = { maxLineLength: 96, maxLiteralSize: 48, maxCommandSize: 128, maxSkipSize: 200 };

/** Pieces of IMAP syntax, so random scripts reach deep into the grammar and not only the tag check. */
const syntax = fc.constantFrom(
  'a1 ', 'FETCH ', 'UID ', 'LOGIN ', 'IDLE', 'STARTTLS', 'AUTHENTICATE ', 'DONE', ' ', ' ', '(', ')', '"', '\\', '\\"',
  '[', ']', '<', '>', '.', '<0.10>', 'BODY[', 'BODY.PEEK[', 'HEADER.FIELDS', '1:*', '$', ',', '*', 'NIL', '~',
  '{', '}', '{0}', '{3}', '{4+}', '{5000+}', '{99999999999999999999}', '\r\n', '\r\n', '\n', '\r', '\x00', '\xff', 'abc', '12',
);
const syntaxScript = fc.array(syntax, { maxLength: 60 }).map((pieces) => Buffer.from(pieces.join(''), 'latin1'));
const randomBytes = fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes));
const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 12 });

function checkStream(script: Buffer, splitAt: number[], options: FeedOptions): void {
  const whole = feedSplit(script, [], options);
  const split = feedSplit(script, splitAt, options);
  const internal = whole.events.concat(split.events).filter((e) => e.kind === 'error' && e.error.code === 'internal');
  if (internal.length > 0) throw new Error(`internal error on ${JSON.stringify(script.toString('latin1'))}`);
  const a = whole.events.map(dumpEvent);
  const b = split.events.map(dumpEvent);
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`split at ${splitAt} differs:\n${a.join('\n')}\n---\n${b.join('\n')}`);
  const bound = (options.maxCommandSize ?? 1 << 30) + 24;
  if (split.maxBuffered > bound) throw new Error(`held ${split.maxBuffered} bytes, over ${bound}`);
}

t.test('random bytes: no throw, no internal error, same events however cut, within the limits', async (t) => {
  fc.assert(fc.property(randomBytes, cuts, (script, splitAt) => checkStream(script, splitAt, small)), { numRuns: RUNS });
  fc.assert(fc.property(randomBytes, cuts, (script, splitAt) => checkStream(script, splitAt, {})), { numRuns: RUNS });
  t.pass(`${RUNS * 2} random byte streams`);
});

t.test('random IMAP-like syntax: the same properties', async (t) => {
  fc.assert(fc.property(syntaxScript, cuts, (script, splitAt) => checkStream(script, splitAt, small)), { numRuns: RUNS });
  fc.assert(fc.property(syntaxScript, cuts, (script, splitAt) => checkStream(script, splitAt, { nonSyncLiterals: 'literal-' })), { numRuns: RUNS });
  t.pass(`${RUNS * 2} random syntax streams`);
});

const atomText = fc.stringMatching(/^\\?[A-Za-z][A-Za-z0-9.\-_$+]{0,8}$/).filter((s) => s.toUpperCase() !== 'NIL');
const bytes = fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b));
const seqNumber: fc.Arbitrary<SeqNumber> = fc.oneof(fc.integer({ min: 1, max: 0xffffffff }), fc.constant('*' as const));
const sequence = fc
  .record({ ranges: fc.array(fc.record({ start: seqNumber, end: seqNumber }), { minLength: 1, maxLength: 4 }), lastResult: fc.boolean() })
  .map((set) => seq(set));

const leaf: fc.Arbitrary<ResponseValue> = fc.oneof(
  atomText.map((text) => atom(text)),
  fc.nat().map((n) => num(n)),
  bytes.map((b) => str(b)),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => str(s)),
  fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('NIL', '007', '*', 'a]b')).map((s) => astr(s)),
  bytes.map((b) => literal8(b)),
  fc.constant(NIL),
  sequence,
);
const { value: argument } = fc.letrec<{ value: ResponseValue }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 4 }).map((items) => list(items))),
}));

/** Whether the parser's reading of a value is what the encoder was given. */
function agrees(parsed: ImapValue | undefined, sent: ResponseValue): boolean {
  switch (sent.kind) {
    case 'atom':
      return parsed?.kind === 'atom' && parsed.text === sent.text;
    case 'number':
      return parsed?.kind === 'number' && parsed.value === Number(sent.value);
    case 'nil':
      return parsed?.kind === 'nil';
    case 'sequence': {
      const set = sequenceArg(parsed);
      return set !== null && formatSequenceSet(set) === formatSequenceSet(sent.set);
    }
    case 'string': {
      const want = typeof sent.value === 'string' ? Buffer.from(sent.value) : sent.value;
      if (sent.as === 'astring') return astringBytes(parsed)?.equals(want) ?? false;
      return parsed?.kind === 'string' && parsed.value.equals(want) && (sent.as === 'literal8') === (parsed.form === 'literal8');
    }
    case 'list':
      return parsed?.kind === 'list' && parsed.items.length === sent.items.length && sent.items.every((item, i) => agrees(parsed.items[i], item));
  }
}

const commandName = fc.stringMatching(/^[A-Z]{2,10}$/).filter((n) => !['UID', 'STARTTLS', 'AUTHENTICATE', 'IDLE', 'COMPRESS'].includes(n));
const command = fc.record({
  tag: fc.stringMatching(/^[A-Za-z0-9.]{1,8}$/),
  name: commandName,
  args: fc.array(argument, { maxLength: 6 }),
  utf8: fc.boolean(),
  quotedMax: fc.integer({ min: 0, max: 64 }),
});

t.test('well-formed commands from the encoder round-trip through the parser, however cut', async (t) => {
  fc.assert(
    fc.property(command, cuts, ({ tag, name, args, utf8, quotedMax }, splitAt) => {
      const encoder = new ResponseEncoder({ utf8, quotedMax });
      const line = args.length > 0 ? encoder.response(`${tag} ${name}`, args) : Buffer.from(`${tag} ${name}\r\n`);
      const events = feedSplit(line, splitAt).events.filter((e: ParseEvent) => e.kind !== 'continue');
      const first = events[0];
      if (events.length !== 1 || first?.kind !== 'command') return false;
      const parsed = first.command;
      return parsed.tag === tag && parsed.name === name && parsed.args.length === args.length && args.every((a, i) => agrees(parsed.args[i], a));
    }),
    { numRuns: RUNS },
  );
  t.pass(`${RUNS} commands`);
});

t.test('mailbox names round-trip through modified UTF-7', async (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (name) => {
      const encoded = encodeMailboxName(name);
      return /^[\x20-\x7e]*$/.test(encoded) && decodeMailboxName(encoded) === name;
    }),
    { numRuns: RUNS },
  );
  const wireish = fc.array(fc.constantFrom('&', '-', 'A', 'O', 'Q', '2', 'D', '3', 'c', '7', ',', '+', '/', 'x', ' ', '='), { maxLength: 16 }).map((p) => p.join(''));
  fc.assert(
    fc.property(wireish, (wire) => {
      const name = decodeMailboxName(wire);
      return name === null || decodeMailboxName(encodeMailboxName(name)) === name;
    }),
    { numRuns: RUNS },
  );
  t.pass(`${RUNS * 2} names`);
});

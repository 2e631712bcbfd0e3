// FETCH's fast path (fetch/render.ts encodeSimple, fetch/encoded-cache.ts): the bytes written are those
// of the ordinary path, for every kind of string an ENVELOPE holds and with UTF8=ACCEPT or not, and the
// encoded ENVELOPE is kept per message and per encoding.
import fc from 'fast-check';
import t from 'tap';
import type { MessageView, StructureValue } from '../../src/imap/backend.js';
import { EncodedCache } from '../../src/imap/fetch/encoded-cache.js';
import { parseFetch } from '../../src/imap/fetch/items.js';
import { encodeSimple, planItems, renderSimple } from '../../src/imap/fetch/render.js';
import { structureValue } from '../../src/imap/fetch/structure.js';
import { PLAIN_MAX, structureText } from '../../src/imap/fetch/structure-text.js';
import { atom, num, ResponseEncoder, str, type ResponseValue } from '../../src/imap/wire/encoder.js';
import { parseCommand } from '../helpers/imap-message-context.js';

function view(envelope: StructureValue, messageId?: string): MessageView {
  const unused = () => {
    throw new Error('not for simple items');
  };
  return {
    uid: 42, flags: ['\\Seen'], modseq: 7, internalDate: new Date(Date.UTC(2026, 2, 2, 9, 0, 0)), size: 1234,
    ...(messageId ? { messageId } : {}),
    envelope: () => envelope, bodyStructure: unused, section: unused, binary: unused, binarySize: unused, headerValues: unused, sentDate: () => null, searchText: unused,
  } as unknown as MessageView;
}

const ENVELOPES: StructureValue[] = [
  ['Mon, 2 Mar 2026 10:00:00 +0100', 'plain "quoted" \\ subject', [[null, null, 'alice', 'example.com']], null, null, null, null, null, null, '<a@example.com>'],
  [null, 'Caf\u00e9 cr\u00e8me', [['Fran\u00e7ois', null, 'f', 'cafe.example']], null, null, null, null, null, null, null],
  [null, 'a line\r\nbreak', null, null, null, null, null, null, null, null],
  [null, 'x'.repeat(2000), null, null, null, null, null, null, null, null],
  [null, 'y'.repeat(300), null, null, null, null, null, null, null, null],
  [null, '', [], null, null, null, null, null, null, null],
];

function both(items: string, encoder: ResponseEncoder, cache: EncodedCache, mode: string, envelope: StructureValue, messageId?: string) {
  const request = parseFetch(parseCommand(`a UID FETCH 1 ${items}`).args.slice(1));
  if ('error' in request) throw new Error(request.error);
  const planned = planItems(request.items, { withUid: true, withModseq: false, seenNow: false });
  const state = { flags: ['\\Seen', '\\Recent'], modseq: 7 };
  const message = view(envelope, messageId);
  const ordinary = encoder.response('*', [num(3), atom('FETCH'), renderSimple(message, planned, state)]);
  const encoding = {
    encode: (values: readonly ResponseValue[]) => encoder.encode(values),
    keepEncoded: (key: string, make: () => Buffer) => cache.get(`${mode} ${key}`, make),
  };
  const fast = Buffer.concat([Buffer.from('* '), ...encodeSimple(3, message, planned, state, encoding), Buffer.from('\r\n')]);
  return { ordinary, fast };
}

t.test('the fast path writes the bytes of the ordinary one', async (t) => {
  const cache = new EncodedCache();
  for (const [mode, encoder] of [['a', new ResponseEncoder()], ['u', new ResponseEncoder({ utf8: true })]] as const) {
    ENVELOPES.forEach((envelope, i) => {
      for (const items of ['(FLAGS RFC822.SIZE ENVELOPE)', '(ENVELOPE)', '(ENVELOPE INTERNALDATE FLAGS)', 'FAST', 'ALL']) {
        for (const id of [`m${i}`, undefined]) {
          // Twice: encoded, then from the cache.
          for (let round = 0; round < 2; round++) {
            const { ordinary, fast } = both(items, encoder, cache, mode, envelope, id);
            t.equal(fast.toString('latin1'), ordinary.toString('latin1'), `${mode} ${items} envelope ${i} id ${id ?? 'none'} round ${round}`);
          }
        }
      }
    });
  }
  t.equal(cache.size, ENVELOPES.length * 2, 'one entry per message and encoding');
});

t.test('the encoded cache keeps the most recently used', async (t) => {
  const cache = new EncodedCache(2);
  let made = 0;
  const get = (key: string) => cache.get(key, () => (made++, Buffer.from(key))).toString();
  t.equal(get('a'), 'a');
  t.equal(get('b'), 'b');
  t.equal(get('a'), 'a', 'kept');
  t.equal(made, 2);
  get('c'); // b is the least recently used
  t.equal(cache.size, 2);
  get('a');
  t.equal(made, 3, 'a still kept');
  get('b');
  t.equal(made, 4, 'b was evicted');
  const none = new EncodedCache(0);
  t.equal(none.get('x', () => Buffer.from('x')).toString(), 'x');
  t.equal(none.size, 0, 'capacity 0 keeps nothing');
});

t.test('structure text is what the encoder writes, for any tree', async (t) => {
  const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('', 'NIL', '"', '\\', 'a\r\nb', '\u0000', '\u007f', 'x'.repeat(PLAIN_MAX), 'y'.repeat(PLAIN_MAX + 1), 'z'.repeat(1500)));
  const tree = fc.letrec<{ node: StructureValue }>((tie) => ({
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant(null), fc.nat(), text, fc.array(tie('node'), { maxLength: 6 })),
  })).node;
  for (const encoder of [new ResponseEncoder(), new ResponseEncoder({ utf8: true })]) {
    const other = (value: string | number) => encoder.encode([typeof value === 'string' ? str(value) : num(value)]).toString('latin1');
    fc.assert(fc.property(tree, (value) => Buffer.from(structureText(value, other), 'latin1').equals(encoder.encode([structureValue(value)]))), { numRuns: 500 });
  }
  t.pass('500 trees each way');
});

t.test('the connection encoders quote what structure text quotes itself', async (t) => {
  const longest = '~'.repeat(PLAIN_MAX);
  t.equal(new ResponseEncoder().encode([str(longest)]).toString(), `"${longest}"`);
});

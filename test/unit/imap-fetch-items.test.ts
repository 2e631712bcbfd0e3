// FETCH items and sections read from what the client typed (RFC 3501 6.4.5, RFC 3516, RFC 7162): a
// table of command lines and the request they give, or the BAD they get.
import t from 'tap';
import { parseFetch, type FetchItem } from '../../src/imap/fetch/items.js';
import { ResponseEncoder } from '../../src/imap/wire/encoder.js';
import { parseCommand } from '../helpers/imap-message-context.js';

const encoder = new ResponseEncoder();

/** An item as a short readable text: `BODY[HEADER.FIELDS (FROM)]<0.10> peek {"path":[],...}`. */
function show(item: FetchItem): string {
  switch (item.kind) {
    case 'simple':
      return item.name;
    case 'rfc822':
      return `${item.name}${item.peek ? ' peek' : ''}`;
    case 'section':
      return `BODY[${encoder.encode(item.echo).toString()}]${item.partial ? `<${item.partial.offset}.${item.partial.length}>` : ''}${item.peek ? ' peek' : ''} ${JSON.stringify(item.spec)}`;
    case 'binary':
      return `BINARY[${item.path.join('.')}]${item.partial ? `<${item.partial.offset}.${item.partial.length}>` : ''}${item.peek ? ' peek' : ''}`;
    case 'binarySize':
      return `BINARY.SIZE[${item.path.join('.')}]`;
  }
}

function parse(items: string): string {
  const command = parseCommand(`a FETCH 1 ${items}`);
  const request = parseFetch(command.args.slice(1));
  if ('error' in request) return `BAD ${request.error}`;
  const extras = [
    request.setsSeen ? 'seen' : '',
    request.needs.index ? 'index' : '',
    request.needs.content ? 'content' : '',
    request.needs.envelopeOnly ? 'envelope-only' : '',
    request.changedSince !== undefined ? `since=${request.changedSince}` : '',
    request.vanished ? 'vanished' : '',
  ].filter(Boolean);
  return [...request.items.map(show), ...(extras.length ? [`[${extras.join(' ')}]`] : [])].join(' | ');
}

const table: [string, string][] = [
  ['ALL', 'FLAGS | INTERNALDATE | RFC822.SIZE | ENVELOPE | [index envelope-only]'],
  ['fast', 'FLAGS | INTERNALDATE | RFC822.SIZE'],
  ['FULL', 'FLAGS | INTERNALDATE | RFC822.SIZE | ENVELOPE | BODY | [index]'],
  ['(ALL)', 'BAD Unknown fetch attribute: ALL'],
  ['FLAGS', 'FLAGS'],
  ['(FLAGS UID rfc822.size)', 'FLAGS | UID | RFC822.SIZE'],
  ['(UID FLAGS RFC822.SIZE ENVELOPE)', 'UID | FLAGS | RFC822.SIZE | ENVELOPE | [index envelope-only]'],
  ['(ENVELOPE BODY.PEEK[1])', 'ENVELOPE | BODY[1] peek {"path":[1]} | [index content]'],
  ['(BODY BODYSTRUCTURE MODSEQ INTERNALDATE)', 'BODY | BODYSTRUCTURE | MODSEQ | INTERNALDATE | [index]'],
  ['RFC822', 'RFC822 | [seen index content]'],
  ['RFC822.HEADER', 'RFC822.HEADER peek | [index content]'],
  ['RFC822.TEXT', 'RFC822.TEXT | [seen index content]'],
  ['BODY[]', 'BODY[] {"path":[]} | [seen index content]'],
  ['BODY.PEEK[]', 'BODY[] peek {"path":[]} | [index content]'],
  ['body.peek[header]', 'BODY[HEADER] peek {"path":[],"text":"HEADER"} | [index content]'],
  ['BODY[TEXT]<0.100>', 'BODY[TEXT]<0.100> {"path":[],"text":"TEXT"} | [seen index content]'],
  ['BODY[1]', 'BODY[1] {"path":[1]} | [seen index content]'],
  ['BODY[1.2.3]', 'BODY[1.2.3] {"path":[1,2,3]} | [seen index content]'],
  ['BODY[1.2.mime]', 'BODY[1.2.MIME] {"path":[1,2],"text":"MIME"} | [seen index content]'],
  ['BODY[2.header]', 'BODY[2.HEADER] {"path":[2],"text":"HEADER"} | [seen index content]'],
  ['BODY[HEADER.FIELDS (From To)]', 'BODY[HEADER.FIELDS (FROM TO)] {"path":[],"text":"HEADER.FIELDS","fields":["From","To"]} | [seen index content]'],
  ['BODY.PEEK[header.fields ("From" to)]', 'BODY[HEADER.FIELDS ("FROM" TO)] peek {"path":[],"text":"HEADER.FIELDS","fields":["From","to"]} | [index content]'],
  ['BODY.PEEK[1.HEADER.FIELDS.NOT (X-A)]<5.7>', 'BODY[1.HEADER.FIELDS.NOT (X-A)]<5.7> peek {"path":[1],"text":"HEADER.FIELDS.NOT","fields":["X-A"]} | [index content]'],
  ['BODY[MIME]', 'BAD Invalid BODY[..] section'],
  ['BODY[HEADER.FIELDS ()]', 'BAD Invalid BODY[..] section'],
  ['BODY[HEADER.FIELDS]', 'BAD Invalid BODY[..] section'],
  ['BODY[HEADER (From)]', 'BAD Invalid BODY[..] section'],
  ['BODY[HEADER.FIELDS (Fr:om)]', 'BAD Invalid BODY[..] section'],
  ['BODY[FOO]', 'BAD Invalid BODY[..] section'],
  ['BODY[1.]', 'BAD Invalid BODY[..] section'],
  ['BODY[1..2]', 'BAD Invalid BODY[..] section'],
  ['BINARY[]', 'BINARY[] | [seen index content]'],
  ['BINARY.PEEK[1.2]<0.10>', 'BINARY[1.2]<0.10> peek | [index content]'],
  ['BINARY.SIZE[1]', 'BINARY.SIZE[1] | [index content]'],
  ['BINARY[HEADER]', 'BAD Invalid BINARY[..] section'],
  ['(FLAGS) (CHANGEDSINCE 12345)', 'FLAGS | [since=12345]'],
  ['(FLAGS) (CHANGEDSINCE 0 VANISHED)', 'FLAGS | [since=0 vanished]'],
  ['(FLAGS) (VANISHED)', 'BAD VANISHED needs CHANGEDSINCE'],
  ['(FLAGS) (CHANGEDSINCE)', 'BAD Invalid CHANGEDSINCE value'],
  ['(FLAGS) (FOO 1)', 'BAD Unknown fetch modifier'],
  ['(FLAGS) (CHANGEDSINCE 1) extra', 'BAD Too many arguments'],
  ['()', 'BAD Empty fetch attribute list'],
  ['(FLAGS BOGUS)', 'BAD Unknown fetch attribute: BOGUS'],
  ['"FLAGS"', 'BAD Invalid fetch attribute'],
  ['((FLAGS))', 'BAD Invalid fetch attribute'],
];

for (const [items, expected] of table) {
  t.equal(parse(items), expected, items);
}

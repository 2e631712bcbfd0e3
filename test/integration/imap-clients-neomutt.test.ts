// neomutt reads a folder over IMAP (issue 7), driven without a person through a pseudo-terminal
// (test/helpers/pty.ts): it opens INBOX, pipes the message under the cursor to a file, flags it, writes
// the change back and quits. The file must hold the message as it was delivered, the server must show
// the flag on that message only. Over plain IMAP on loopback and over TLS (imaps://, the server's
// certificate trusted). Run against Letterbox and, to prove the script, Dovecot.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { accountOf, eachTarget, ImapSession, type ImapTarget } from '../helpers/imap-clients.js';
import { fetchItem, showValue } from '../helpers/imap-response.js';
import { needPeer } from '../helpers/peers.js';
import { runOnTerminal } from '../helpers/pty.js';

type Mode = 'plain' | 'tls';

const MESSAGES = [
  { subject: 'Quarterly figures', date: 'Mon, 6 Jan 2025 09:30:00 +0000', body: 'The figures are attached.\r\nRegards, Ann' },
  { subject: 'Lunch on Friday', date: 'Tue, 7 Jan 2025 12:00:00 +0000', body: 'Shall we?' },
];

function message(subject: string, date: string, body: string): Buffer {
  return Buffer.from(`From: Ann Example <ann@example.com>\r\nTo: alice@letterbox.test\r\nSubject: ${subject}\r\nDate: ${date}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.com>\r\n\r\n${body}\r\n`);
}

function muttrc(dir: string, target: ImapTarget, mode: Mode): string {
  const folder = mode === 'tls' ? `imaps://${target.tlsHost}:${target.ports.imaps}/` : `imap://${target.host}:${target.ports.imap}/`;
  const settings: Record<string, string> = {
    imap_user: target.user,
    imap_pass: target.password,
    folder,
    spoolfile: '+INBOX',
    // Plain on loopback means plain: no STARTTLS upgrade.
    ssl_starttls: 'no',
    ssl_force_tls: mode === 'tls' ? 'yes' : 'no',
    ssl_ca_certificates_file: target.certificateFile,
    certificate_file: join(dir, 'certificates'),
    header_cache: '',
    message_cachedir: '',
    record: '',
    postponed: '',
    mail_check: '0',
    timeout: '1',
    quit: 'yes',
    move: 'no',
    mark_old: 'no',
    pipe_decode: 'no',
    wait_key: 'no',
    sort: 'date',
  };
  return Object.entries(settings).map(([name, value]) => `set ${name} = "${value}"`).join('\n') + '\n';
}

async function readFolder(t: Test, target: ImapTarget, mode: Mode): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'letterbox-neomutt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'muttrc'), muttrc(dir, target, mode));
  const session = await ImapSession.open(accountOf(target));
  t.teardown(() => session.logout());
  await session.login(target.user, target.password);
  for (const m of MESSAGES) await session.append('INBOX', message(m.subject, m.date, m.body));

  const saved = join(dir, 'saved.eml');
  const keys = `<pipe-message>cat > ${saved}<enter><flag-message><sync-mailbox><quit>`;
  const run = await runOnTerminal(['neomutt', '-n', '-F', join(dir, 'muttrc'), '-e', `push "${keys}"`], 'letterbox: never printed', {
    ...process.env,
    HOME: dir,
    TERM: 'xterm',
  }, 30_000);
  t.equal(run.code, 0, 'neomutt quits by itself');
  if (!existsSync(saved)) {
    t.fail(`neomutt saved no message; its screen:\n${run.output.slice(-2000)}`);
    return;
  }
  // The first by date is under the cursor (sort=date).
  const first = MESSAGES[0] as (typeof MESSAGES)[number];
  const expected = message(first.subject, first.date, first.body).toString('latin1').replace(/\r\n/g, '\n');
  t.equal(readFileSync(saved, 'latin1').replace(/\r\n/g, '\n'), expected, 'the piped message is the message as delivered');

  await session.ok('EXAMINE INBOX');
  const { untagged } = await session.ok('FETCH 1:* (FLAGS ENVELOPE)');
  const flagged = untagged.filter((r) => fetchItem(r, 'FLAGS')).map((r) => {
    const envelope = fetchItem(r, 'ENVELOPE');
    const subject = envelope?.kind === 'list' && envelope.items[1]?.kind === 'string' ? envelope.items[1].bytes.toString() : '';
    const flags = fetchItem(r, 'FLAGS');
    return `${subject}: ${flags?.kind === 'list' ? flags.items.map(showValue).filter((f) => f !== '\\Recent').sort().join(' ') : ''}`;
  });
  t.same(flagged.sort(), [`${MESSAGES[1]?.subject}: `, `${first.subject}: \\Flagged`].sort(), 'the flag reached the server, on that message only');
}

// Each target starts its own server (the appliance takes seconds on a loaded machine).
t.setTimeout(180_000);

t.test('neomutt reads a folder over IMAP in batch mode', async (t) => {
  if (!needPeer({ skip: (reason) => void t.skip(reason, () => undefined), fail: (reason) => void t.fail(reason) }, 'neomutt', 'neomutt')) return;
  if (!needPeer({ skip: (reason) => void t.skip(reason, () => undefined), fail: (reason) => void t.fail(reason) }, 'python3', 'python3')) return;
  for (const mode of ['plain', 'tls'] as const) {
    await t.test(mode, async (t) => eachTarget(t, (t, target) => readFolder(t, target, mode)));
  }
});

// Python's imaplib, the standard library's IMAP client, through a whole session (issue 7): LOGIN, LIST,
// APPEND, SELECT, SEARCH, FETCH, STORE, COPY, EXPUNGE, UID commands, LOGOUT, over implicit TLS
// (IMAP4_SSL) and over STARTTLS, with an unverified TLS context as a script against a box with a
// self-signed certificate would have. The script prints what each command answered as JSON; the test
// checks what a user of the script would see. Run against Letterbox and, to prove the script, Dovecot.
import { execFile } from 'node:child_process';
import t, { type Test } from 'tap';
import { eachTarget, type ImapTarget } from '../helpers/imap-clients.js';
import { needPeer } from '../helpers/peers.js';

const SESSION = String.raw`
import imaplib, json, ssl, sys
mode, host, port, user, password = sys.argv[1:6]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
seen = {}

def text(value):
    if isinstance(value, bytes):
        return value.decode('latin1')
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value]
    return value

def step(name, command, *args, **options):
    # One failing command (a NO or BAD raises imaplib.error) is recorded, and the session goes on.
    try:
        typ, data = command(*args, **options)
    except (imaplib.IMAP4.error, OSError) as err:
        typ, data = 'ERROR', [str(err)]
    seen[name] = {'status': typ, 'data': text(data)}
    return data

if mode == 'tls':
    imap = imaplib.IMAP4_SSL(host, int(port), ssl_context=context)
else:
    imap = imaplib.IMAP4(host, int(port))
    seen['capabilities before'] = list(imap.capabilities)
    step('starttls', imap.starttls, ssl_context=context)
seen['capabilities'] = list(imap.capabilities)
step('login', imap.login, user, password)
step('list', imap.list)
message = lambda subject, body: ('From: Ann <ann@example.com>\r\nTo: ' + user + '\r\nSubject: ' + subject + '\r\nDate: Mon, 6 Jan 2025 09:30:00 +0000\r\n\r\n' + body + '\r\n').encode()
step('append 1', imap.append, 'INBOX', None, None, message('First', 'one'))
step('append 2', imap.append, 'INBOX', '(\\Seen)', imaplib.Time2Internaldate(1736155800), message('Second', 'two'))
step('append 3', imap.append, 'INBOX', None, None, message('Third', 'three ümlaut'.encode('utf-8').decode('latin1')))
step('select', imap.select, 'INBOX')
step('search all', imap.search, None, 'ALL')
step('search unseen', imap.search, None, 'UNSEEN')
step('search subject', imap.search, None, 'SUBJECT', '"Second"')
step('search body', imap.search, None, 'BODY', 'three')
step('fetch', imap.fetch, '1:3', '(FLAGS RFC822.SIZE)')
step('fetch body', imap.fetch, '2', '(BODY.PEEK[])')
step('fetch header', imap.fetch, '3', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
step('store', imap.store, '1', '+FLAGS', '(\\Deleted)')
step('store flagged', imap.store, '3', '+FLAGS.SILENT', '(\\Flagged)')
step('copy', imap.copy, '2:3', 'Archive')
step('expunge', imap.expunge)
step('uid search', imap.uid, 'SEARCH', None, 'ALL')
step('uid fetch', imap.uid, 'FETCH', '1:*', '(FLAGS)')
step('status', imap.status, 'Archive', '(MESSAGES UNSEEN)')
step('close', imap.close)
step('logout', imap.logout)
print(json.dumps(seen))
`;

interface Answer {
  status: string;
  data: unknown;
}

function runSession(mode: 'tls' | 'starttls', target: ImapTarget): Promise<Record<string, Answer>> {
  const port = mode === 'tls' ? target.ports.imaps : target.ports.imap;
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', SESSION, mode, target.host, String(port), target.user, target.password], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`imaplib session failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as Record<string, Answer>);
    });
  });
}

async function wholeSession(t: Test, target: ImapTarget, mode: 'tls' | 'starttls'): Promise<void> {
  const seen = await runSession(mode, target);
  const answer = (name: string) => seen[name] as Answer;
  if (mode === 'starttls') t.ok((seen['capabilities before'] as unknown as string[]).includes('STARTTLS'), 'STARTTLS offered on the plain port');
  for (const [name, { status, data }] of Object.entries(seen)) {
    if (name.startsWith('capabilities') || name === 'logout') continue;
    t.equal(status, 'OK', `${name}: OK${status === 'OK' ? '' : ` (${JSON.stringify(data)})`}`);
  }
  t.equal(answer('logout').status, 'BYE', 'logout: BYE');
  t.ok((answer('list').data as string[]).some((line) => /^\(.*\) "\/" "?INBOX"?$/.test(line)), 'LIST shows INBOX with the / separator');
  t.ok((answer('list').data as string[]).some((line) => /^\(.*\\Archive.*\) "\/" "?Archive"?$/.test(line)), 'and Archive, \\Archive');
  t.same(answer('select').data, ['3'], 'SELECT: 3 messages');
  t.same(answer('search all').data, ['1 2 3'], 'SEARCH ALL');
  t.same(answer('search unseen').data, ['1 3'], 'SEARCH UNSEEN');
  t.same(answer('search subject').data, ['2'], 'SEARCH SUBJECT');
  t.same(answer('search body').data, ['3'], 'SEARCH BODY');
  t.match(JSON.stringify(answer('fetch').data), /1 \(FLAGS \(.*\) RFC822\.SIZE \d+\)|1 \(RFC822\.SIZE \d+ FLAGS/, 'FETCH FLAGS RFC822.SIZE');
  const body = answer('fetch body').data as [string[], string];
  t.match(body[0]?.[1], /^From: Ann <ann@example.com>\r\n.*Subject: Second\r\nDate: [^\r]+\r\n\r\ntwo\r\n$/s, 'FETCH BODY.PEEK[] gives the message back');
  const header = answer('fetch header').data as [string[], string];
  t.equal(header[0]?.[1], 'Subject: Third\r\n\r\n', 'FETCH HEADER.FIELDS');
  t.match(JSON.stringify(answer('store').data), /\\\\Deleted/, 'STORE answers with the new flags');
  t.same(answer('store flagged').data, [null], 'STORE .SILENT answers nothing');
  t.same(answer('expunge').data, ['1'], 'EXPUNGE removes message 1');
  t.same(answer('uid search').data, ['2 3'], 'UID SEARCH after the expunge');
  t.match(JSON.stringify(answer('uid fetch').data), /UID 3/, 'UID FETCH');
  t.match(JSON.stringify(answer('status').data), /MESSAGES 2 UNSEEN 1/, 'COPY put both in Archive, one unseen');
}

// Each target starts its own server (the appliance takes seconds on a loaded machine).
t.setTimeout(120_000);

t.test('imaplib runs a whole session', async (t) => {
  if (!needPeer({ skip: (reason) => void t.skip(reason, () => undefined), fail: (reason) => void t.fail(reason) }, 'python3', 'python3')) return;
  for (const mode of ['tls', 'starttls'] as const) {
    await t.test(mode, async (t) => eachTarget(t, (t, target) => wholeSession(t, target, mode)));
  }
});

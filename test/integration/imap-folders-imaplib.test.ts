// The folder commands of the real appliance (`node dist/cli.js serve`, LevelDB store) driven by
// Python's imaplib: every command of RFC 3501 6.3 and the QUOTA ones, as a Python mail script would use
// them, each answer checked as imaplib hands it back.
import { execFile } from 'node:child_process';
import t from 'tap';
import { ALICE, DOMAIN } from '../helpers/addresses.js';
import { passwordOf, provision, startAppliance, type RunningAppliance } from '../helpers/appliance.js';

let app: RunningAppliance;

t.before(async () => {
  app = await startAppliance();
  await provision(app, [DOMAIN], [ALICE]);
});
t.teardown(() => app?.cleanup());

/** Runs a Python script with `imap` logged in as alice; its stdout is one JSON document. */
function python(body: string): Promise<unknown> {
  const script = [
    'import imaplib, json, sys, time',
    `imap = imaplib.IMAP4('127.0.0.1', ${app.ports.imap})`,
    `imap.login(${JSON.stringify(ALICE)}, ${JSON.stringify(passwordOf(ALICE))})`,
    'def text(data): return [d.decode("utf-8", "replace") if isinstance(d, bytes) else [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in d] for d in data if d is not None]',
    'def run(typ_data): typ, data = typ_data; return [typ, text(data)]',
    'out = {}',
    body,
    'imap.logout()',
    'print(json.dumps(out))',
  ].join('\n');
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`not JSON: ${stdout}\n${stderr}`));
      }
    });
  });
}

t.test('imaplib: CREATE, LIST, LSUB, SUBSCRIBE, RENAME, DELETE', async (t) => {
  const out = (await python(`
out['create'] = run(imap.create('Projects/Alpha'))
out['create_again'] = run(imap.create('Projects/Alpha'))
out['create_utf7'] = run(imap.create('"Z&APw-rich"'))
out['subscribe'] = run(imap.subscribe('Projects/Alpha'))
out['list'] = run(imap.list('""', '*'))
out['list_pct'] = run(imap.list('Projects/', '%'))
out['lsub'] = run(imap.lsub('""', 'Projects/*'))
out['rename'] = run(imap.rename('Projects', 'Work'))
out['after_rename'] = run(imap.list('""', 'Work*'))
out['unsubscribe'] = run(imap.unsubscribe('Work/Alpha'))
out['unsubscribe_missing'] = run(imap.unsubscribe('Nothing/Here'))
out['delete'] = run(imap.delete('Work/Alpha'))
out['delete_inbox'] = run(imap.delete('INBOX'))
out['delete_missing'] = run(imap.delete('Nothing'))
`)) as Record<string, [string, string[]]>;
  t.same(out.create, ['OK', ['CREATE completed']]);
  t.same(out.create_again?.[0], 'NO');
  t.same(out.create_utf7, ['OK', ['CREATE completed']]);
  t.same(out.subscribe, ['OK', ['SUBSCRIBE completed']]);
  t.same(out.list?.[1], [
    '(\\HasNoChildren) "/" INBOX',
    '(\\HasNoChildren \\Archive) "/" Archive',
    '(\\HasNoChildren \\Drafts) "/" Drafts',
    '(\\HasNoChildren \\Junk) "/" Junk',
    '(\\HasChildren) "/" Projects',
    '(\\HasNoChildren) "/" Projects/Alpha',
    '(\\HasNoChildren \\Sent) "/" Sent',
    '(\\HasNoChildren \\Trash) "/" Trash',
    '(\\HasNoChildren) "/" Z&APw-rich',
  ]);
  t.same(out.list_pct?.[1], ['(\\HasNoChildren) "/" Projects/Alpha']);
  t.same(out.lsub?.[1], ['() "/" Projects/Alpha']);
  t.same(out.rename, ['OK', ['RENAME completed']]);
  t.same(out.after_rename?.[1], ['(\\HasChildren) "/" Work', '(\\HasNoChildren) "/" Work/Alpha']);
  t.same(out.unsubscribe, ['OK', ['UNSUBSCRIBE completed']]);
  t.same(out.unsubscribe_missing, ['OK', ['UNSUBSCRIBE completed']]);
  t.same(out.delete, ['OK', ['DELETE completed']]);
  t.same(out.delete_inbox, ['NO', ['[CANNOT] INBOX cannot be deleted']]);
  t.match(out.delete_missing, ['NO', [/^\[NONEXISTENT\]/]]);
});

t.test('imaplib: APPEND, STATUS, SELECT, EXAMINE, the quota commands', async (t) => {
  const out = (await python(`
msg = b'From: bob@${DOMAIN}\\r\\nTo: ${ALICE}\\r\\nSubject: hello\\r\\n\\r\\nHi.\\r\\n'
out['append'] = run(imap.append('Drafts', '(\\\\Draft $Work)', imaplib.Time2Internaldate(1580702706), msg))
out['append_missing'] = run(imap.append('Nowhere', None, None, msg))
out['status'] = run(imap.status('Drafts', '(MESSAGES RECENT UIDNEXT UNSEEN SIZE)'))
out['select'] = run(imap.select('Drafts'))
out['select_untagged'] = {k: text(v) for k, v in imap.untagged_responses.items() if k in ('FLAGS', 'PERMANENTFLAGS', 'UIDNEXT', 'RECENT', 'UNSEEN', 'HIGHESTMODSEQ', 'READ-WRITE')}
out['fetch'] = run(imap.fetch('1', '(FLAGS INTERNALDATE)'))
out['examine'] = run(imap.select('Sent', readonly=True))
out['examine_untagged'] = {k: text(v) for k, v in imap.untagged_responses.items() if k in ('PERMANENTFLAGS', 'READ-ONLY', 'CLOSED')}
out['select_missing'] = run(imap.select('Nowhere'))
out['state'] = imap.state
out['quotaroot'] = run(imap.getquotaroot('INBOX'))
out['getquota'] = run(imap.getquota('""'))
out['setquota'] = run(imap.setquota('""', '(STORAGE 10)'))
`)) as Record<string, unknown>;
  t.match(out.append, ['OK', [/^\[APPENDUID \d+ 1\] APPEND completed$/]]);
  t.match(out.append_missing, ['NO', [/^\[TRYCREATE\]/]]);
  const size = Buffer.byteLength(`From: bob@${DOMAIN}\r\nTo: ${ALICE}\r\nSubject: hello\r\n\r\nHi.\r\n`);
  t.same(out.status, ['OK', [`Drafts (MESSAGES 1 RECENT 1 UIDNEXT 2 UNSEEN 1 SIZE ${size})`]]);
  t.same(out.select, ['OK', ['1']]);
  t.same(out.select_untagged, {
    FLAGS: ['(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)'],
    PERMANENTFLAGS: ['(\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)'],
    RECENT: ['1'],
    UNSEEN: ['1'],
    UIDNEXT: ['2'],
    HIGHESTMODSEQ: [(out.select_untagged as Record<string, string[]>).HIGHESTMODSEQ?.[0] ?? 'missing'],
    'READ-WRITE': [''],
  });
  t.match(out.fetch, ['OK', [/^1 \(FLAGS \(\\Draft \$Work \\Recent\) INTERNALDATE "03-Feb-2020 \d\d:05:06 [+-]\d{4}"\)$/]]);
  t.same(out.examine, ['OK', ['0']]);
  t.same(out.examine_untagged, { PERMANENTFLAGS: ['()'], 'READ-ONLY': [''], CLOSED: [''] });
  t.match(out.select_missing, ['NO', [/^\[NONEXISTENT\]/]]);
  t.equal(out.state, 'AUTH', 'a failed SELECT leaves the session authenticated');
  t.same(out.quotaroot, ['OK', [['INBOX'], [null]]], 'no quota, no quota root (and so no QUOTA response)');
  t.same(out.getquota, ['NO', ['[NONEXISTENT] No such quota root']]);
  t.same(out.setquota, ['NO', ['[CANNOT] Quotas are set by the administrator']]);
});

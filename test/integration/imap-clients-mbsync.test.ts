// mbsync (Debian's isync) keeps a local Maildir tree in step with the server, both ways (issue 7): the
// folders Sent, Archive/2025 and Projects/Alpha; a folder made locally is created on the server, mail
// new on either side reaches the other, flags changed on either side too; then a run with nothing to do
// does nothing, on either side. Over plain IMAP on loopback and over TLS (IMAPS, with the server's
// certificate as mbsync's CertificateFile). Run against Letterbox and, to prove the script, Dovecot.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t, { type Test } from 'tap';
import { accountOf, eachTarget, ImapSession, quote, type ImapTarget } from '../helpers/imap-clients.js';
import { fetchItem, showValue, type ResponseValue } from '../helpers/imap-response.js';
import { needPeer } from '../helpers/peers.js';

type Mode = 'plain' | 'tls';

function message(subject: string, body: string): Buffer {
  return Buffer.from(`From: Ann <ann@example.com>\r\nTo: alice@letterbox.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.com>\r\nDate: Mon, 6 Jan 2025 09:30:00 +0000\r\n\r\n${body}\r\n`);
}

/** isync 1.5 renamed SSLType to TLSType and warns about the old name; 1.4 (Debian 12) knows only SSLType. */
function tlsKeyword(): string {
  const version = /(\d+)\.(\d+)/.exec(execFileSync('mbsync', ['--version'], { encoding: 'utf8' }));
  const [major, minor] = [Number(version?.[1] ?? 1), Number(version?.[2] ?? 4)];
  return major > 1 || minor >= 5 ? 'TLSType' : 'SSLType';
}

function mbsyncrc(dir: string, target: ImapTarget, mode: Mode): string {
  const tls = tlsKeyword();
  // isync matches the certificate's names (not its IP addresses) against Host: TLS goes to localhost.
  const server = mode === 'tls'
    ? [`Host ${target.tlsHost}`, `Port ${target.ports.imaps}`, `${tls} IMAPS`, `CertificateFile ${target.certificateFile}`]
    : [`Host ${target.host}`, `Port ${target.ports.imap}`, `${tls} None`];
  return [
    'IMAPAccount server', ...server, `User ${target.user}`, `Pass ${target.password}`, '',
    'IMAPStore far', 'Account server', '',
    'MaildirStore near', `Path ${dir}/mail/`, `Inbox ${dir}/mail/INBOX`, 'SubFolders Verbatim', '',
    'Channel tree', 'Far :far:', 'Near :near:', 'Patterns *', 'Create Both', 'Expunge Both', 'SyncState *', '',
  ].join('\n');
}

function runMbsync(dir: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('mbsync', ['-c', join(dir, 'mbsyncrc'), '-a'], { env: { ...process.env, HOME: dir }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** Every message file of the local tree: its path (with mbsync's UID and the flags) and a digest. */
function localSnapshot(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\/(cur|new)$/.test(dir)) files.push(`${relative(root, path)} ${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16)}`);
    }
  };
  walk(root);
  return files.sort();
}

/** The local messages of a folder, as text with LF line ends (mbsync stores them so), with their Maildir flags. */
function localMessages(root: string, folder: string): { text: string; flags: string; path: string }[] {
  return ['new', 'cur'].flatMap((sub) => {
    const dir = join(root, folder, sub);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).map((name) => ({
      text: readFileSync(join(dir, name), 'latin1').replace(/\r\n/g, '\n'),
      flags: /:2,([A-Z]*)$/.exec(name)?.[1] ?? '',
      path: join(dir, name),
    }));
  });
}

function mailboxName(value: ResponseValue | undefined): string {
  if (value?.kind === 'string') return value.bytes.toString('utf8');
  return value && value.kind !== 'list' && value.kind !== 'nil' ? value.text : '';
}

/** Every folder of the server with its UIDVALIDITY and, per message, UID, flags (not \Recent) and size. */
async function serverSnapshot(session: ImapSession): Promise<string[]> {
  const { untagged } = await session.ok('LIST "" "*"');
  const folders = untagged.filter((r) => showValue(r.values[0] as ResponseValue).toUpperCase() === 'LIST').map((r) => mailboxName(r.values[3])).sort();
  const lines: string[] = [];
  for (const folder of folders) {
    const examined = await session.command(`EXAMINE ${quote(folder)}`);
    if (examined.tagged.status !== 'OK') continue; // \Noselect
    const validity = examined.untagged.find((r) => r.code?.name === 'UIDVALIDITY')?.code?.text;
    lines.push(`${folder} UIDVALIDITY ${validity}`);
    const { untagged: fetched } = await session.ok('UID FETCH 1:* (FLAGS RFC822.SIZE)');
    for (const r of fetched) {
      const flags = fetchItem(r, 'FLAGS');
      const kept = flags?.kind === 'list' ? flags.items.map(showValue).filter((f) => f !== '\\Recent').sort().join(' ') : '';
      lines.push(`${folder} ${showValue(fetchItem(r, 'UID') as ResponseValue)} (${kept}) ${showValue(fetchItem(r, 'RFC822.SIZE') as ResponseValue)}`);
    }
  }
  return lines;
}

/** The messages of a server folder: body text (LF line ends) and flags. */
async function serverMessages(session: ImapSession, folder: string): Promise<{ text: string; flags: string[] }[]> {
  await session.ok(`EXAMINE ${quote(folder)}`);
  const { untagged } = await session.ok('UID FETCH 1:* (FLAGS BODY.PEEK[])');
  return untagged.filter((r) => fetchItem(r, 'FLAGS')).map((r) => {
    const flags = fetchItem(r, 'FLAGS');
    const body = fetchItem(r, 'BODY[]');
    return {
      text: body?.kind === 'string' ? body.bytes.toString('latin1').replace(/\r\n/g, '\n') : '',
      flags: flags?.kind === 'list' ? flags.items.map(showValue) : [],
    };
  });
}

function writeLocalMessage(root: string, folder: string, name: string, bytes: Buffer): void {
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(root, folder, sub), { recursive: true });
  writeFileSync(join(root, folder, 'new', name), bytes);
}

const has = (list: { text: string }[], subject: string) => list.some((m) => m.text.includes(`Subject: ${subject}\n`));

async function syncBothWays(t: Test, target: ImapTarget, mode: Mode): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'letterbox-mbsync-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'mbsyncrc'), mbsyncrc(dir, target, mode));
  const root = join(dir, 'mail');
  const session = await ImapSession.open(accountOf(target));
  t.teardown(() => session.logout());
  await session.login(target.user, target.password);

  // The server has mail in INBOX, Sent and Archive/2025; the local tree has Projects/Alpha.
  await session.ok('CREATE "Archive/2025"');
  await session.append('INBOX', message('Server inbox', 'one'));
  await session.append('Sent', message('Server sent', 'two'), ['\\Seen']);
  await session.append('Archive/2025', message('Server archive', 'three'));
  writeLocalMessage(root, 'Projects/Alpha', '1700000000.1.local', message('Local alpha', 'four'));

  const first = await runMbsync(dir);
  t.equal(first.code, 0, 'first run succeeds', { output: first.output });
  t.ok(has(localMessages(root, 'INBOX'), 'Server inbox'), 'INBOX pulled');
  t.ok(has(localMessages(root, 'Sent'), 'Server sent'), 'Sent pulled');
  t.match(localMessages(root, 'Sent')[0]?.flags, /S/, 'with its \\Seen');
  t.ok(has(localMessages(root, 'Archive/2025'), 'Server archive'), 'Archive/2025 pulled');
  t.ok(has(await serverMessages(session, 'Projects/Alpha'), 'Local alpha'), 'Projects/Alpha created on the server and pushed');

  // Flags both ways, new mail both ways.
  const inbox = localMessages(root, 'INBOX')[0];
  if (!inbox) throw new Error('no local INBOX message');
  const base = inbox.path.split('/').pop()?.replace(/:2,.*$/, '') as string;
  renameSync(inbox.path, join(root, 'INBOX', 'cur', `${base}:2,S`));
  await session.ok('SELECT "Archive/2025"');
  await session.ok('STORE 1 +FLAGS (\\Flagged)');
  await session.append('Projects/Alpha', message('Server alpha', 'five'));
  writeLocalMessage(root, 'Archive/2025', '1700000001.2.local', message('Local archive', 'six'));

  const second = await runMbsync(dir);
  t.equal(second.code, 0, 'second run succeeds', { output: second.output });
  t.same((await serverMessages(session, 'INBOX'))[0]?.flags.includes('\\Seen'), true, 'a flag set locally reaches the server');
  t.match(localMessages(root, 'Archive/2025').find((m) => m.text.includes('Server archive'))?.flags, /F/, 'a flag set on the server reaches the local tree');
  t.ok(has(localMessages(root, 'Projects/Alpha'), 'Server alpha'), 'new server mail pulled');
  t.ok(has(await serverMessages(session, 'Archive/2025'), 'Local archive'), 'new local mail pushed');

  const [localBefore, serverBefore] = [localSnapshot(root), await serverSnapshot(session)];
  const third = await runMbsync(dir);
  t.equal(third.code, 0, 'the run with nothing to do succeeds', { output: third.output });
  t.notMatch(third.output, /error|warning/i, 'and says nothing is wrong');
  t.same(localSnapshot(root), localBefore, 'the local tree is unchanged');
  t.same(await serverSnapshot(session), serverBefore, 'the server is unchanged');
}

// Each target starts its own server (the appliance takes seconds on a loaded machine).
t.setTimeout(180_000);

t.test('mbsync syncs a tree of folders both ways, then has nothing to do', async (t) => {
  if (!needPeer({ skip: (reason) => void t.skip(reason, () => undefined), fail: (reason) => void t.fail(reason) }, 'mbsync', 'isync')) return;
  for (const mode of ['plain', 'tls'] as const) {
    await t.test(mode, async (t) => eachTarget(t, (t, target) => syncBothWays(t, target, mode)));
  }
});

// A throwaway Dovecot 2.3 (Debian's dovecot-imapd and dovecot-pop3d) on loopback free ports: the
// reference the IMAP tests compare Letterbox with, and a server to prove client scripts against. It reads
// only its own config (`-c`), keeps base_dir, state_dir, its log, a passwd-file and the maildirs in one
// temp dir, runs in the foreground as our child, and is stopped and removed on teardown.
// As root (CI) its services drop to the Debian users (dovecot, dovenull) and mail belongs to `nobody`;
// as anyone else every service and the mail run as the current user, without chroot.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { stopChild } from './dnsmasq.js';
import { freePorts, retryOnAddressInUse } from './ports.js';
import { LineLog, needTool, waitUntilListening, type TapLike } from './remote-mta.js';

export const DOVECOT = '/usr/sbin/dovecot';

/** The folders every Letterbox user has (issue 7), made the same way in Dovecot with their SPECIAL-USE. */
export const SPECIAL_FOLDERS: Record<string, string> = { Sent: '\\Sent', Drafts: '\\Drafts', Trash: '\\Trash', Junk: '\\Junk', Archive: '\\Archive' };

export interface DovecotOptions {
  /** Login names and passwords (default: one user, `alice@letterbox.test` / `password-alice`). */
  users?: Record<string, string>;
  /** Extra settings appended to dovecot.conf (they win over earlier ones). */
  config?: string;
}

export interface RunningDovecot {
  host: string;
  ports: { imap: number; imaps: number; pop3: number; pop3s: number };
  users: Record<string, string>;
  /** The self-signed certificate (PEM) of 127.0.0.1 / localhost, to trust it directly. */
  certificate: string;
  /** Where that certificate is, for clients that take a file (mbsync's CertificateFile). */
  certificateFile: string;
  dir: string;
  log: LineLog;
  stop(): Promise<void>;
}

interface Accounts {
  internalUser: string;
  internalGroup: string;
  loginUser: string;
  mailUid: number;
  mailGid: number;
  root: boolean;
}

function accounts(): Accounts {
  const me = userInfo();
  if (me.uid !== 0) {
    const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
    return { internalUser: me.username, internalGroup: group, loginUser: me.username, mailUid: me.uid, mailGid: me.gid, root: false };
  }
  const id = (flag: string, name: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { internalUser: 'dovecot', internalGroup: 'dovecot', loginUser: 'dovenull', mailUid: id('-u', 'nobody'), mailGid: id('-g', 'nobody'), root: true };
}

function mailboxes(): string {
  return Object.entries(SPECIAL_FOLDERS)
    .map(([name, use]) => `  mailbox ${name} {\n    special_use = ${use}\n    auto = subscribe\n  }`)
    .join('\n');
}

function listener(name: string, port: number, ssl: boolean): string {
  return `  inet_listener ${name} {\n    address = 127.0.0.1\n    port = ${port}\n    ssl = ${ssl ? 'yes' : 'no'}\n  }`;
}

function dovecotConf(dir: string, ports: RunningDovecot['ports'], who: Accounts, extra: string): string {
  // Without root, nothing may chroot or change user: every service runs as us.
  const unprivileged = who.root ? '' : ['imap-login', 'pop3-login', 'anvil', 'auth', 'auth-worker', 'stats', 'config', 'log', 'dict']
    .map((service) => `service ${service} {\n  chroot =\n  user = ${who.internalUser}\n}`).join('\n');
  return `# Written by test/helpers/dovecot.ts; nothing of /etc/dovecot is read.
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = letterbox-test-${ports.imap}
log_path = ${dir}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
default_internal_user = ${who.internalUser}
default_internal_group = ${who.internalGroup}
default_login_user = ${who.loginUser}
first_valid_uid = ${Math.min(who.mailUid, 500)}
first_valid_gid = 0
ssl = yes
ssl_cert = <${dir}/etc/cert.pem
ssl_key = <${dir}/etc/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/etc/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/etc/passwd
}
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
${mailboxes()}
}
service imap-login {
${listener('imap', ports.imap, false)}
${listener('imaps', ports.imaps, true)}
}
service pop3-login {
${listener('pop3', ports.pop3, false)}
${listener('pop3s', ports.pop3s, true)}
}
${unprivileged}
${extra}
`;
}

function writeCertificate(dir: string): string {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(dir, 'etc/key.pem'), '-out', join(dir, 'etc/cert.pem'),
  ], { stdio: 'ignore' });
  return readFileSync(join(dir, 'etc/cert.pem'), 'utf8');
}

function writeUsers(dir: string, users: Record<string, string>, who: Accounts): void {
  const lines = Object.entries(users).map(([user, password]) => {
    const home = join(dir, 'home', user);
    mkdirSync(home, { recursive: true });
    if (who.root) chownSync(home, who.mailUid, who.mailGid);
    // user:password:uid:gid:(gecos):home:(shell):extra
    return `${user}:{PLAIN}${password}:${who.mailUid}:${who.mailGid}::${home}::`;
  });
  writeFileSync(join(dir, 'etc/passwd'), `${lines.join('\n')}\n`, { mode: 0o644 });
}

/** Starts Dovecot; null after skipping (or failing, under LETTERBOX_REQUIRE_PEERS=1) when it is not installed. */
export async function startDovecot(t: TapLike, options: DovecotOptions = {}): Promise<RunningDovecot | null> {
  if (!needTool(t, DOVECOT, 'dovecot-imapd dovecot-pop3d') || !needTool(t, 'openssl', 'openssl')) return null;
  return retryOnAddressInUse(async () => launch(t, options));
}

async function launch(t: TapLike, options: DovecotOptions): Promise<RunningDovecot> {
  const [imap, imaps, pop3, pop3s] = (await freePorts(4)) as [number, number, number, number];
  const ports = { imap, imaps, pop3, pop3s };
  const users = options.users ?? { 'alice@letterbox.test': 'password-alice' };
  const who = accounts();
  const dir = mkdtempSync(join(tmpdir(), 'letterbox-dovecot-'));
  // Its services (other users as root) must reach the config, the certificate and the homes.
  chmodSync(dir, 0o755);
  for (const sub of ['etc', 'home', 'run', 'state']) mkdirSync(join(dir, sub), { mode: 0o755 });
  const certificate = writeCertificate(dir);
  writeUsers(dir, users, who);
  writeFileSync(join(dir, 'etc/dovecot.conf'), dovecotConf(dir, ports, who, options.config ?? ''));

  const log = new LineLog();
  // Its own process group, and -F: it stays our child, and stopping it takes its services down.
  const master = spawn(DOVECOT, ['-F', '-c', join(dir, 'etc/dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  master.stdout?.on('data', (chunk: Buffer) => log.add(chunk));
  master.stderr?.on('data', (chunk: Buffer) => log.add(chunk));
  const unfollow = log.follow(join(dir, 'dovecot.log'));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopChild(master);
    unfollow();
    rmSync(dir, { recursive: true, force: true });
  };
  t.teardown(stop);
  try {
    // imap-login logs every connection it served (a bare connect shows as "Disconnected ... no auth attempts").
    await waitUntilListening('127.0.0.1', imap, master, log, /imap-login: .*Disconnected/);
    await waitUntilListening('127.0.0.1', pop3, master, log);
  } catch (err) {
    await stop();
    // Dovecot says "bind(127.0.0.1, port) failed: Address already in use" when another process took a port.
    throw err;
  }
  return {
    host: '127.0.0.1',
    ports,
    users,
    certificate,
    certificateFile: join(dir, 'etc/cert.pem'),
    dir,
    log,
    stop,
  };
}

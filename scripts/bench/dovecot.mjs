// A throw-away Dovecot 2.3 for the IMAP benchmark: its own config, base and state directories, log file
// and maildirs in a temporary directory, one passwd-file user, IMAP without TLS on a free loopback port.
// Settings are Debian's defaults except where a throw-away instance must differ (paths, the listener,
// plaintext LOGIN on loopback, the users it runs as) and the per-user connection cap, raised for the
// mixed load as Letterbox's is. Started as root its processes drop to `dovecot`/`dovenull` and the
// mail processes to `nobody`; started unprivileged everything runs as the caller.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImapClient } from './imap-client.mjs';
import { freePort } from './smtp-accept.mjs';

const DOVECOT = '/usr/sbin/dovecot';
const DOVEADM = '/usr/bin/doveadm';
/**
 * SHA512-CRYPT with 100,000 rounds costs about what Letterbox's scrypt (N = 2^14, r = 8) does per login
 * on this kind of machine (40-50 ms), so logins weigh the same in the mixed load.
 */
const PASSWORD_SCHEME = ['-s', 'SHA512-CRYPT', '-r', '100000'];

function idOf(name, flag) {
  try {
    return Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return null;
  }
}

/** Why Dovecot cannot run here, or null. */
function dovecotMissing() {
  if (!existsSync(DOVECOT)) return `Dovecot is not installed (${DOVECOT}; apt-get install dovecot-imapd)`;
  return null;
}

/** Who runs what: as root, Debian's dovecot/dovenull users and nobody for mail; else the caller for all. */
function accounts() {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    const name = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
    const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
    return { internal: name, login: name, group, mailUid: process.getuid(), mailGid: process.getgid(), root };
  }
  const internal = idOf('dovecot', '-u') !== null ? 'dovecot' : 'nobody';
  const login = idOf('dovenull', '-u') !== null ? 'dovenull' : 'nobody';
  return { internal, login, group: null, mailUid: idOf('nobody', '-u'), mailGid: idOf('nobody', '-g'), root };
}

function config(dir, port, who) {
  return [
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    `instance_name = letterbox-bench-${port}`,
    'protocols = imap',
    'listen = 127.0.0.1',
    `log_path = ${dir}/dovecot.log`,
    'ssl = no',
    // Plaintext LOGIN without TLS, as Letterbox allows on loopback.
    'disable_plaintext_auth = no',
    'auth_mechanisms = plain login',
    `default_internal_user = ${who.internal}`,
    `default_login_user = ${who.login}`,
    // Unprivileged, the sockets' group must be one the caller can give them.
    ...(who.group ? [`default_internal_group = ${who.group}`] : []),
    `first_valid_uid = ${Math.min(who.mailUid, 500)}`,
    `first_valid_gid = ${Math.min(who.mailGid, 500)}`,
    `mail_location = maildir:${dir}/mail/%u`,
    'mail_privileged_group =',
    `passdb {\n  driver = passwd-file\n  args = ${dir}/passwd\n}`,
    `userdb {\n  driver = passwd-file\n  args = ${dir}/passwd\n}`,
    `service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n    port = ${port}\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}`,
    'service stats {\n  unix_listener stats-reader {\n    mode = 0600\n  }\n  unix_listener stats-writer {\n    mode = 0666\n  }\n}',
    // Debian's default is 10 per user and address: the mixed load's 10 clients reconnect all the time.
    'protocol imap {\n  mail_max_userip_connections = 1000\n}',
    // Unprivileged, the login and anvil processes cannot chroot as Debian's defaults have them do.
    ...(who.root ? [] : ['service imap-login {\n  chroot =\n}', 'service anvil {\n  chroot =\n}']),
    '',
  ].join('\n');
}

/** The pids of the master and every process under it, read from /proc. */
function processTree(masterPid) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name is in brackets and may hold spaces: the parent pid is the second field after it.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // Gone between readdir and read.
    }
  }
  const tree = [masterPid];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/**
 * Starts Dovecot for one user; resolves with its port, a way to write messages straight into the user's
 * maildir (as an LDA would, before any IMAP session), restart() and stop(). `missing` says why not.
 */
export async function startDovecot({ user, password }) {
  const missing = dovecotMissing();
  if (missing) return { missing };
  const who = accounts();
  const dir = mkdtempSync(join(tmpdir(), 'letterbox-bench-dovecot-'));
  chmodSync(dir, 0o755);
  for (const sub of ['run', 'state', 'mail']) mkdirSync(join(dir, sub));
  if (who.root) chownSync(join(dir, 'mail'), who.mailUid, who.mailGid);
  const port = await freePort();
  const hash = execFileSync(DOVEADM, ['pw', ...PASSWORD_SCHEME, '-p', password], { encoding: 'utf8' }).trim();
  writeFileSync(join(dir, 'passwd'), `${user}:${hash}:${who.mailUid}:${who.mailGid}::${dir}/mail/${user}::\n`);
  const configFile = join(dir, 'dovecot.conf');
  writeFileSync(configFile, config(dir, port, who));
  const version = execFileSync(DOVECOT, ['--version'], { encoding: 'utf8' }).trim().split(' ')[0];

  let master = null;
  const halt = async () => {
    if (!master || master.exitCode !== null || master.signalCode !== null) return;
    const exited = new Promise((resolve) => master.once('exit', resolve));
    master.kill('SIGTERM');
    await exited;
    // The master leaves before some children have; the next start must not meet them.
    await sleep(200);
  };
  const launch = async () => {
    const logFd = openSync(join(dir, 'dovecot.stderr'), 'a');
    // -F: the spawned process is the master itself; SIGTERM to it stops every Dovecot process.
    master = spawn(DOVECOT, ['-F', '-c', configFile], { stdio: ['ignore', logFd, logFd], detached: true });
    closeSync(logFd);
    try {
      await waitForImap(port, () => master.exitCode !== null, () => logTail(dir));
    } catch (err) {
      await halt();
      throw err;
    }
  };

  try {
    await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    name: `Dovecot ${version}`,
    port,
    version,
    /** Writes messages into the maildir's new/ as a delivery agent would, with S= and W= sizes in the names. */
    deliver: (messages) => deliverToMaildir(join(dir, 'mail', user), messages, who),
    pids: () => (master && master.exitCode === null ? processTree(master.pid) : []),
    restart: async ({ between } = {}) => {
      await halt();
      await between?.();
      await launch();
    },
    stop: async () => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function logTail(dir) {
  for (const name of ['dovecot.log', 'dovecot.stderr']) {
    const file = join(dir, name);
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8').trim();
      if (text) return text.slice(-3_000);
    }
  }
  return '(no log)';
}

/** Resolves once a connection to the port is greeted with `* OK`. */
async function waitForImap(port, exited, log, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`dovecot exited at start:\n${log()}`);
    try {
      const client = await ImapClient.open(port, '127.0.0.1', 2_000);
      client.destroy();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`dovecot did not greet on port ${port} in ${timeoutMs / 1000} s:\n${log()}`);
}

/** `messages`: [{ bytes: Buffer (CRLF lines), date: Date }]. Maildir files hold LF lines, as Dovecot's LDA writes them. */
function deliverToMaildir(maildir, messages, who) {
  for (const sub of ['', 'new', 'cur', 'tmp']) {
    const path = join(maildir, sub);
    if (!existsSync(path)) mkdirSync(path, { mode: 0o700 });
    if (who.root) chownSync(path, who.mailUid, who.mailGid);
  }
  const host = 'bench';
  messages.forEach((message, i) => {
    const lf = Buffer.from(message.bytes.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    const seconds = Math.floor(message.date.getTime() / 1000);
    const name = `${seconds}.M${i}P${process.pid}.${host},S=${lf.length},W=${message.bytes.length}`;
    const path = join(maildir, 'new', name);
    writeFileSync(path, lf, { mode: 0o600 });
    // The file's time is the message's internal date (RFC 3501 2.3.3) for maildir.
    utimesSync(path, message.date, message.date);
    if (who.root) chownSync(path, who.mailUid, who.mailGid);
  });
}

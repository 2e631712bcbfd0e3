// A full Postfix instance on 127.0.0.x:<port> as a remote MTA or as the upstream smarthost, with its own
// config_directory, queue_directory and data_directory in a temp dir; master runs in the foreground as
// our child and logs to a file in that directory, which the test follows. Mail it accepts for any domain lands in one
// maildir (virtual(8) adds Delivered-To, so tests can tell recipients apart). It never looks anything up
// in DNS and never sends mail anywhere: bounces it would make are discarded.
// The smarthost variant requires STARTTLS (or implicit TLS) and AUTH through Cyrus SASL with a temporary
// sasldb (saslpasswd2 from sasl2-bin), and relays only for clients that logged in.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopChild } from './dnsmasq.js';
import { missingPeer } from './peers.js';
import { freePort, portIsFree, retryOnAddressInUse } from './ports.js';
import { LineLog, needTool, skipOrFail, waitUntilListening, type TapLike } from './remote-mta.js';

export interface PostfixOptions {
  host: string;
  /** Default: a free port this helper chooses (and chooses again when another process took it first). */
  port?: number;
  /** myhostname, the greeting and the certificate's name. */
  hostname: string;
  /** RCPT refusals through an access map, e.g. { 'bob@a.test': '550 5.1.1 No such user here' }. */
  refuse?: Record<string, string>;
  /** STARTTLS offered (`may`, the default), not offered (`none`), or offered with a handshake that fails (`broken`). */
  tls?: 'may' | 'none' | 'broken';
  /** More main.cf parameters, e.g. { message_size_limit: '2000' }. */
  main?: Record<string, string>;
  /** Turns the instance into a smarthost that wants AUTH over TLS. */
  smarthost?: { user: string; password: string; tls: 'starttls' | 'implicit' };
}

export interface DeliveredMail {
  deliveredTo: string;
  returnPath: string;
  raw: string;
}

export interface RunningPostfix {
  host: string;
  port: number;
  /** The self-signed certificate (PEM), to trust it as a CA. */
  certificate: string;
  log: LineLog;
  /** SMTP sessions since the instance was ready ("connect from" lines). */
  connections(): number;
  /** Waits for the queue manager to hand `count` deliveries to the maildir, then reads it. */
  delivered(count: number): Promise<DeliveredMail[]>;
  stop(): Promise<void>;
}

const MASTER = '/usr/lib/postfix/sbin/master';

/** The options with the port decided. */
type ListenOptions = PostfixOptions & { port: number };

function account(name: string, flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
}

function mainCf(dir: string, options: ListenOptions): string {
  const refusals = Object.entries(options.refuse ?? {}).map(([address, reply]) => `{${address} = ${reply}}`);
  const recipientChecks = options.smarthost
    ? 'permit_sasl_authenticated, reject'
    : `${refusals.length ? `check_recipient_access inline:{${refusals.join(', ')}}, ` : ''}permit_mynetworks, reject_unauth_destination`;
  const tls = options.tls ?? 'may';
  return [
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/spool`,
    `data_directory = ${dir}/data`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    `myhostname = ${options.hostname}`,
    'inet_interfaces = loopback-only',
    `inet_protocols = ${options.host.includes(':') ? 'all' : 'ipv4'}`,
    'mydestination =',
    'mynetworks = 127.0.0.0/8, [::1]/128',
    // Not /dev/stdout: our end of the child's stdout is a socket, which postlogd cannot open.
    `maillog_file = ${dir}/maillog`,
    `maillog_file_prefixes = ${dir}`,
    // Every domain is ours, delivered into one maildir.
    'virtual_mailbox_domains = static:all',
    `virtual_mailbox_base = ${dir}/mail`,
    'virtual_mailbox_maps = static:box/',
    `virtual_uid_maps = static:${account('postfix', '-u')}`,
    `virtual_gid_maps = static:${account('postfix', '-g')}`,
    `smtpd_recipient_restrictions = ${recipientChecks}`,
    'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
    // Nothing may leave loopback: no DNS, no client reverse look-ups, no outbound mail.
    'smtpd_peername_lookup = no',
    'smtp_dns_support_level = disabled',
    'default_transport = discard',
    'alias_maps =',
    'alias_database =',
    'biff = no',
    `smtpd_tls_security_level = ${tls === 'none' ? 'none' : 'may'}`,
    `smtpd_tls_cert_file = ${dir}/etc/cert.pem`,
    `smtpd_tls_key_file = ${dir}/etc/key.pem`,
    // Debian's OpenSSL refuses TLS 1.0 on both sides, so a server limited to it fails every handshake.
    ...(tls === 'broken' ? ['smtpd_tls_protocols = TLSv1', 'smtpd_tls_mandatory_protocols = TLSv1'] : []),
    ...Object.entries(options.main ?? {}).map(([name, value]) => `${name} = ${value}`),
    ...(options.smarthost ? [`cyrus_sasl_config_path = ${dir}/etc/sasl`, 'smtpd_sasl_type = cyrus', 'smtpd_sasl_path = smtpd'] : []),
    '',
  ].join('\n');
}

function masterCf(options: ListenOptions): string {
  const listen = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
  const smarthost = options.smarthost
    ? [
        '  -o smtpd_sasl_auth_enable=yes',
        '  -o smtpd_tls_auth_only=yes',
        '  -o smtpd_tls_security_level=encrypt',
        ...(options.smarthost.tls === 'implicit' ? ['  -o smtpd_tls_wrappermode=yes'] : []),
      ]
    : [];
  const services = [
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'tlsmgr unix - - n 1000? 1 tlsmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'virtual unix - n n - - virtual',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  return [`${listen} inet n - n - - smtpd`, ...smarthost, ...services, ''].join('\n');
}

function writeCertificate(dir: string, options: ListenOptions): string {
  const san = `subjectAltName=DNS:${options.hostname},IP:${options.host}`;
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${options.hostname}`, '-addext', san,
    '-keyout', join(dir, 'etc/key.pem'), '-out', join(dir, 'etc/cert.pem'),
  ], { stdio: 'ignore' });
  return readFileSync(join(dir, 'etc/cert.pem'), 'utf8');
}

function writeSasldb(dir: string, smarthost: NonNullable<PostfixOptions['smarthost']>): void {
  // Debian's Postfix reads $config_directory/sasl/smtpd.conf (cyrus_sasl_config_path is set to match).
  const sasl = join(dir, 'etc/sasl');
  writeFileSync(
    join(sasl, 'smtpd.conf'),
    ['pwcheck_method: auxprop', 'auxprop_plugin: sasldb', 'mech_list: PLAIN LOGIN', `sasldb_path: ${sasl}/sasldb2`, ''].join('\n'),
  );
  // The realm is the part after "@" of the name the client logs in with.
  const [user, realm] = smarthost.user.split('@');
  execFileSync('saslpasswd2', ['-f', join(sasl, 'sasldb2'), '-p', '-c', ...(realm ? ['-u', realm] : []), user as string], { input: smarthost.password });
  chownSync(join(sasl, 'sasldb2'), account('postfix', '-u'), account('postfix', '-g'));
}

export async function startPostfix(t: TapLike, options: PostfixOptions): Promise<RunningPostfix | null> {
  if (!needTool(t, MASTER, 'postfix') || !needTool(t, 'openssl', 'openssl')) return null;
  if (options.smarthost && !needTool(t, 'saslpasswd2', 'sasl2-bin')) return null;
  if (process.getuid?.() !== 0) {
    // master starts as root and drops to the postfix user; it cannot run as anyone else.
    missingPeer(skipOrFail(t), 'a private Postfix instance needs root');
    return null;
  }
  const { port } = options;
  if (port !== undefined) return launch(t, { ...options, port });
  return retryOnAddressInUse(async () => launch(t, { ...options, port: await freePort(options.host) }));
}

async function launch(t: TapLike, options: ListenOptions): Promise<RunningPostfix> {
  const dir = mkdtempSync(join(tmpdir(), 'letterbox-postfix-'));
  // Postfix's daemons run as the postfix user and must reach their files.
  chmodSync(dir, 0o755);
  for (const sub of ['etc', 'etc/sasl', 'spool', 'data', 'mail']) mkdirSync(join(dir, sub));
  for (const sub of ['data', 'mail']) chownSync(join(dir, sub), account('postfix', '-u'), account('postfix', '-g'));
  writeFileSync(join(dir, 'etc/main.cf'), mainCf(dir, options));
  writeFileSync(join(dir, 'etc/master.cf'), masterCf(options));
  const certificate = writeCertificate(dir, options);
  if (options.smarthost) writeSasldb(dir, options.smarthost);
  // `postfix check` creates the queue's subdirectories with the right owners.
  execFileSync('postfix', ['-c', join(dir, 'etc'), 'check'], { stdio: 'pipe' });

  // Its own process group: on SIGTERM master takes its whole group down, and only that.
  const master = spawn(MASTER, ['-c', join(dir, 'etc'), '-d'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const log = new LineLog();
  master.stdout?.on('data', (chunk: Buffer) => log.add(chunk));
  master.stderr?.on('data', (chunk: Buffer) => log.add(chunk));
  const unfollow = log.follow(join(dir, 'maillog'));
  const stop = async () => {
    await stopChild(master);
    unfollow();
    rmSync(dir, { recursive: true, force: true });
  };
  t.teardown(stop);
  try {
    await waitUntilListening(options.host, options.port, master, log, /disconnect from/);
  } catch (err) {
    await stop();
    // master says nothing when it cannot bind its port (its log service is not up yet): it exits with 1.
    const taken = master.exitCode !== null && !(await portIsFree(options.port, options.host));
    throw new Error(`${(err as Error).message}${taken ? `\n${options.host}:${options.port}: address already in use` : ''}`);
  }
  const baseline = log.count(/\]: connect from /);

  const maildir = join(dir, 'mail/box/new');
  return {
    host: options.host,
    port: options.port,
    certificate,
    log,
    connections: () => log.count(/\]: connect from /) - baseline,
    delivered: async (count) => {
      await log.waitFor(/status=sent \(delivered to maildir\)/, count);
      if (count === 0 && !existsSync(maildir)) return [];
      return readdirSync(maildir).sort().map((name) => {
        const raw = readFileSync(join(maildir, name), 'utf8');
        const header = (field: string) => new RegExp(`^${field}: (.*)$`, 'mi').exec(raw)?.[1]?.trim() ?? '';
        return { deliveredTo: header('Delivered-To'), returnPath: header('Return-Path'), raw };
      });
    },
    stop,
  };
}

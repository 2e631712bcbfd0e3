// SMTP acceptance benchmark: how many 2 KB messages per second a server accepts durably from 20
// parallel sessions, driven by Postfix's smtp-source. Letterbox (the built dist/) and, when it can be
// started here, a throw-away Postfix instance on loopback are measured the same way in one run.
//
// Both are durable before they say 250: Letterbox syncs its LevelDB batch, Postfix's cleanup(8)
// fsyncs the queue file. Both end with the message in a mailbox: Letterbox stores it in the INBOX
// before answering, Postfix's virtual(8) delivers it to a maildir (and fsyncs it) right after, while
// the next messages arrive; each measured run starts with Postfix's queue empty again.
//
// Two ways of sending: smtp-source's default (a new connection for every message) and `-d` (each of
// the 20 sessions sends message after message). Usable on its own: `node scripts/bench/smtp-accept.mjs`.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const DOMAIN = 'bench.test';
const RECIPIENT = `user@${DOMAIN}`;
const SESSIONS = 20;
const SIZE = 2048;
const MESSAGES = Number(process.env.BENCH_SMTP_MESSAGES ?? 5000);
const WARMUP = 500;
const RUNS = 3;
const MODES = [
  { name: 'new connection per message', flags: [] },
  { name: 'sessions kept open (`-d`)', flags: ['-d'] },
];

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function which(command, candidates) {
  for (const path of candidates) if (existsSync(path)) return path;
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** Resolves once something on the port greets with 220. */
async function waitForGreeting(port, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const greeted = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.setTimeout(2_000, () => socket.destroy());
      socket.once('data', (data) => {
        socket.end('QUIT\r\n');
        resolve(data.toString().startsWith('220'));
      });
      socket.once('error', () => resolve(false));
      socket.once('close', () => resolve(false));
    });
    if (greeted) return;
    await sleep(100);
  }
  throw new Error(`${what} did not greet on port ${port} within ${timeoutMs / 1000} s`);
}

/** Milliseconds from connecting to the 220 greeting: median of `samples` connections made one after another. */
async function greetingDelay(port, samples = 20) {
  const delays = [];
  for (let i = 0; i < samples; i++) {
    delays.push(
      await new Promise((resolve, reject) => {
        const started = performance.now();
        const socket = connect(port, '127.0.0.1');
        socket.setTimeout(10_000, () => socket.destroy(new Error(`no greeting on port ${port} in 10 s`)));
        socket.once('data', () => {
          resolve(performance.now() - started);
          socket.end('QUIT\r\n');
        });
        socket.once('error', reject);
      }),
    );
  }
  return median(delays);
}

/** Resident size (VmRSS) and its peak (VmHWM) of a process, in MB. */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/**
 * Letterbox from dist/ on free loopback ports in a temporary data directory: port 25 only, or with
 * `submission` also 587 and 465. `smtp` is merged into the config's smtp section, `environment` into the
 * process's, and `onLog` gets every chunk of log output (else it is read and dropped, as journald would
 * take it from an appliance).
 */
export async function startLetterbox({ submission = false, smtp = {}, environment = {}, onLog } = {}) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const dataDir = mkdtempSync(join(tmpdir(), 'letterbox-bench-'));
  const ports = { smtp: await freePort(), submission: submission ? await freePort() : 0, smtps: submission ? await freePort() : 0 };
  const configFile = join(dataDir, 'config.json');
  const off = { imap: 0, imaps: 0, pop3: 0, pop3s: 0, http: 0, https: 0 };
  // maxConnectionsPerClient as Postfix's smtpd_client_connection_count_limit (50): the load comes from
  // one address, and with a new connection per message the next one may arrive before the last is closed.
  const config = { dataDir, hostname: 'bench.letterbox.test', listen: ['127.0.0.1'], ports: { ...ports, ...off }, smtp: { maxConnectionsPerClient: 50, ...smtp } };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const env = { ...process.env, LETTERBOX_CONFIG: configFile };
  delete env.LETTERBOX_DATA_DIR;
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { env: { ...env, ...environment }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  await new Promise((resolve, reject) => {
    let ready = false;
    child.stdout.on('data', (chunk) => {
      onLog?.(chunk);
      if (!ready && chunk.toString().includes('"letterbox ready"')) {
        ready = true;
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`letterbox exited with ${code}: ${stderr}`)));
  });
  const cli = (args, input) => execFileSync(process.execPath, [CLI, ...args, '--config', configFile], { env, input, encoding: 'utf8' });
  return {
    name: 'Letterbox',
    port: ports.smtp,
    ports,
    pid: child.pid,
    cli,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function postfixMainCf(dir) {
  return [
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/spool`,
    `data_directory = ${dir}/data`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'myhostname = bench.postfix.test',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    // The bench domain is a virtual mailbox domain: every address in it goes to one maildir.
    'mydestination =',
    `virtual_mailbox_domains = ${DOMAIN}`,
    `virtual_mailbox_base = ${dir}/mail`,
    'virtual_mailbox_maps = static:box/',
    `virtual_uid_maps = static:${execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).trim()}`,
    `virtual_gid_maps = static:${execFileSync('id', ['-g', 'postfix'], { encoding: 'utf8' }).trim()}`,
    'mynetworks = 127.0.0.0/8',
    // maillog_file must be under maillog_file_prefixes (/var, /dev/stdout); master's stdout is a file.
    'maillog_file = /dev/stdout',
    // Nothing may leave loopback: no DNS, no reverse look-ups, anything not local is discarded.
    'smtpd_peername_lookup = no',
    'smtp_dns_support_level = disabled',
    'default_transport = discard',
    'alias_maps =',
    'alias_database =',
    'biff = no',
    '',
  ].join('\n');
}

function postfixMasterCf(port) {
  const services = [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'virtual unix - n n - - virtual',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  return `${services.join('\n')}\n`;
}

/** Why a Postfix instance cannot run here, or null. */
function postfixMissing(master) {
  if (!master) return 'Postfix is not installed (apt-get install postfix)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return "Postfix's master(8) must be started as root; run the benchmark as root to compare";
  try {
    execFileSync('id', ['postfix'], { stdio: 'ignore' });
    execFileSync('getent', ['group', 'postdrop'], { stdio: 'ignore' });
  } catch {
    return 'the postfix user or the postdrop group is missing';
  }
  return null;
}

/** A Postfix instance of its own (config, queue, data, maildir in a temp dir) on a loopback port. */
export async function startPostfix() {
  const master = which('master', ['/usr/lib/postfix/sbin/master', '/usr/libexec/postfix/master']);
  const missing = postfixMissing(master);
  if (missing) return { missing };
  const dir = mkdtempSync(join(tmpdir(), 'letterbox-bench-postfix-'));
  // Its daemons run as the postfix user and must reach their files.
  chmodSync(dir, 0o755);
  for (const sub of ['etc', 'spool', 'data', 'mail']) mkdirSync(join(dir, sub));
  const uid = Number(execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'postfix'], { encoding: 'utf8' }));
  for (const sub of ['data', 'mail']) chownSync(join(dir, sub), uid, gid);
  const port = await freePort();
  writeFileSync(join(dir, 'etc/main.cf'), postfixMainCf(dir));
  writeFileSync(join(dir, 'etc/master.cf'), postfixMasterCf(port));
  // `postfix check` creates the queue directories with their owners and modes.
  execFileSync('postfix', ['-c', join(dir, 'etc'), 'check'], { stdio: 'pipe' });
  // postlogd opens /dev/stdout, which fails on the socket node gives a child as a 'pipe': it then
  // exits, and every daemon blocks once the log socket is full. A file takes the log instead.
  const logFile = join(dir, 'maillog');
  const logFd = openSync(logFile, 'a');
  // Its own process group: on SIGTERM master takes down its daemons, and nothing else.
  const child = spawn(master, ['-c', join(dir, 'etc'), '-d'], { stdio: ['ignore', logFd, logFd], detached: true });
  closeSync(logFd);
  try {
    await waitForGreeting(port, 'Postfix');
  } catch (err) {
    child.kill('SIGTERM');
    const log = readFileSync(logFile, 'utf8').slice(-5_000);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${err.message}\n${log}`);
  }
  const maildir = join(dir, 'mail/box/new');
  return {
    name: 'Postfix',
    port,
    version: execFileSync('postconf', ['-c', join(dir, 'etc'), '-h', 'mail_version'], { encoding: 'utf8' }).trim(),
    /** Waits until `count` messages have been delivered to the maildir, so the next run starts idle. */
    delivered: async (count, timeoutMs = 180_000) => {
      const deadline = Date.now() + timeoutMs;
      while ((existsSync(maildir) ? readdirSync(maildir).length : 0) < count) {
        if (Date.now() > deadline) throw new Error(`Postfix delivered fewer than ${count} messages in ${timeoutMs / 1000} s`);
        await sleep(200);
      }
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One smtp-source run; resolves with messages per second. */
function smtpSource(path, port, count, flags) {
  const args = [...flags, '-s', String(SESSIONS), '-l', String(SIZE), '-m', String(count), '-f', 'a@x.test', '-t', RECIPIENT, `127.0.0.1:${port}`];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) reject(new Error(`smtp-source ${args.join(' ')} exited with ${code}: ${stderr.trim()}`));
      else resolve(count / seconds);
    });
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Warm-up, then RUNS measured runs per mode; `settle` waits for background work after each run. */
async function measure(server, smtpSourcePath, log, settle) {
  const results = [];
  let sent = 0;
  for (const mode of MODES) {
    await smtpSource(smtpSourcePath, server.port, WARMUP, mode.flags);
    sent += WARMUP;
    await settle(sent);
    const rates = [];
    for (let run = 0; run < RUNS; run++) {
      rates.push(await smtpSource(smtpSourcePath, server.port, MESSAGES, mode.flags));
      sent += MESSAGES;
      await settle(sent);
      log(`  ${server.name}, ${mode.name}, run ${run + 1}: ${rates[run].toFixed(0)} msgs/s`);
    }
    results.push({ mode: mode.name, rates, median: median(rates) });
  }
  return { results, sent };
}

async function benchLetterbox(smtpSourcePath, log) {
  const letterbox = await startLetterbox();
  try {
    letterbox.cli(['domain', 'add', DOMAIN]);
    letterbox.cli(['user', 'add', RECIPIENT, '--password-stdin'], 'bench-password-1234\n');
    const idle = memoryOf(letterbox.pid);
    const greeting = await greetingDelay(letterbox.port);
    const { results, sent } = await measure(letterbox, smtpSourcePath, log, async () => {});
    const memory = { idle: idle.rss, peak: memoryOf(letterbox.pid).peak };
    // Every message acknowledged must be in the INBOX: a benchmark of a server that drops mail is worthless.
    const users = JSON.parse(letterbox.cli(['user', 'list', '--json']));
    const stored = users.find((u) => u.address === RECIPIENT)?.messages;
    if (stored !== sent) throw new Error(`Letterbox acknowledged ${sent} messages but its INBOX holds ${stored}`);
    return { results, memory, greeting };
  } finally {
    await letterbox.stop();
  }
}

async function benchPostfix(smtpSourcePath, log) {
  const postfix = await startPostfix();
  if (postfix.missing) return { missing: postfix.missing };
  try {
    const greeting = await greetingDelay(postfix.port);
    const { results } = await measure(postfix, smtpSourcePath, log, (sent) => postfix.delivered(sent));
    return { results, version: postfix.version, greeting };
  } finally {
    await postfix.stop();
  }
}

function table(letterbox, postfix) {
  const rate = (value) => value.toFixed(0);
  const rows = ['| server | sending | run 1 | run 2 | run 3 | median msgs/s |', '|---|---|---:|---:|---:|---:|'];
  for (const [name, measured] of [['Letterbox', letterbox], [`Postfix ${postfix.version ?? ''}`.trim(), postfix]]) {
    for (const r of measured.results ?? []) rows.push(`| ${name} | ${r.mode} | ${r.rates.map(rate).join(' | ')} | **${rate(r.median)}** |`);
  }
  if (postfix.results) {
    rows.push('', '| sending | Letterbox / Postfix |', '|---|---:|');
    letterbox.results.forEach((r, i) => rows.push(`| ${r.mode} | ${(r.median / postfix.results[i].median).toFixed(2)} |`));
  }
  return rows.join('\n');
}

/** Runs the benchmark; returns its section of docs/PERFORMANCE.md. */
export async function run({ log = console.log } = {}) {
  const smtpSourcePath = which('smtp-source', ['/usr/sbin/smtp-source']);
  if (!smtpSourcePath) return { title: 'SMTP acceptance', markdown: 'Not measured: `smtp-source` is missing (apt-get install postfix).' };
  log(`SMTP acceptance: ${SESSIONS} sessions, ${SIZE}-byte messages, ${MESSAGES} per run, median of ${RUNS}`);
  const letterbox = await benchLetterbox(smtpSourcePath, log);
  const postfix = await benchPostfix(smtpSourcePath, log);
  const lines = [
    `\`smtp-source -s ${SESSIONS} -l ${SIZE} -m ${MESSAGES} [-d] -f a@x.test -t ${RECIPIENT} 127.0.0.1:PORT\`, ` +
      `${MESSAGES} messages per run after a ${WARMUP}-message warm-up, median of ${RUNS} runs; every acknowledged message is checked to be in the INBOX.`,
    '',
    table(letterbox, postfix),
    '',
    `Time from connect to the 220 greeting (median of 20): Letterbox ${letterbox.greeting.toFixed(1)} ms` +
      (postfix.greeting === undefined ? '.' : `, Postfix ${postfix.greeting.toFixed(1)} ms.`) +
      ` With a new connection per message, ${SESSIONS} sessions cannot exceed ${SESSIONS} / greeting time: ` +
      `${(SESSIONS / (letterbox.greeting / 1000)).toFixed(0)} msgs/s for Letterbox. The pause is smtp-server's: it waits 100 ms ` +
      'before greeting every connection to catch clients that talk too early (SMTPConnection.init), and has no option for it.',
    '',
    'With the sessions kept open, Letterbox commits the messages of all sessions waiting at that moment in one synced ' +
      'LevelDB batch (group commit, src/store/lane.ts), where Postfix fsyncs one queue file per message and then a maildir file.',
    '',
    `Letterbox resident memory: ${letterbox.memory.idle.toFixed(0)} MB idle (after start-up and provisioning), ${letterbox.memory.peak.toFixed(0)} MB peak over the whole benchmark.`,
  ];
  if (postfix.missing) lines.push('', `Postfix not measured: ${postfix.missing}.`);
  return { title: 'SMTP acceptance', markdown: lines.join('\n') };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { markdown } = await run();
  console.log(`\n${markdown}`);
}

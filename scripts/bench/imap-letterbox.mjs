// Letterbox for the IMAP benchmark: `serve` from dist/ with SMTP and IMAP on free loopback ports and a
// data directory that outlives a restart (smtp-accept's startLetterbox removes its directory at stop),
// and the INBOX filled by SMTP, the way mail reaches the appliance.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ImapClient } from './imap-client.mjs';
import { freePort } from './smtp-accept.mjs';
import { unitEnvironment } from './memory.mjs';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const CLI = join(DIST, 'cli.js');

/** Caps the mixed load would meet: it logs in again and again, as one user from one address. */
const RAISED_CAPS = { maxSessionsPerUser: 1000, maxConnectionsPerAddress: 1000 };

/** The `imap` config section with RAISED_CAPS, as far as this build has those keys (else none at all). */
async function imapSection() {
  const defaultsFile = join(DIST, 'config/defaults.js');
  if (!existsSync(defaultsFile)) return null;
  const { developmentDefaults } = await import(pathToFileURL(defaultsFile).href);
  const section = developmentDefaults().imap;
  if (!section || typeof section !== 'object') return null;
  return Object.fromEntries(Object.entries(RAISED_CAPS).filter(([key]) => key in section));
}

/** Resolves with null once the port greets with `* OK`, or with why not. */
async function imapGreets(port) {
  try {
    const client = await ImapClient.open(port, '127.0.0.1', 5_000);
    client.destroy();
    return null;
  } catch (err) {
    return err.message;
  }
}

/**
 * Starts Letterbox; resolves with { name, pid, ports, cli, restart({ between }), stop() }, or with
 * { missing } when this build does not answer IMAP yet.
 */
export async function startLetterboxImap() {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const dataDir = mkdtempSync(join(tmpdir(), 'letterbox-bench-imap-'));
  const ports = { smtp: await freePort(), imap: await freePort() };
  const off = { submission: 0, smtps: 0, imaps: 0, pop3: 0, pop3s: 0, http: 0, https: 0 };
  const configFile = join(dataDir, 'config.json');
  const imap = await imapSection();
  const config = {
    dataDir, hostname: 'bench.letterbox.test', listen: ['127.0.0.1'], ports: { ...ports, ...off },
    smtp: { maxConnectionsPerClient: 50 }, ...(imap ? { imap } : {}),
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  // As the appliance runs: with the systemd unit's environment (its malloc tuning).
  const env = { ...process.env, ...unitEnvironment(), LETTERBOX_CONFIG: configFile };
  delete env.LETTERBOX_DATA_DIR;

  let child = null;
  let logTail = '';
  const launch = () =>
    new Promise((resolve, reject) => {
      child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let ready = false;
      const keep = (chunk) => (logTail = (logTail + chunk).slice(-8_000));
      child.stderr.on('data', keep);
      child.stdout.on('data', (chunk) => {
        keep(chunk);
        if (!ready && chunk.toString().includes('"letterbox ready"')) {
          ready = true;
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`letterbox exited with ${code}: ${logTail}`)));
    });
  const halt = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  const stop = async () => {
    await halt();
    rmSync(dataDir, { recursive: true, force: true });
  };

  await launch();
  const silence = await imapGreets(ports.imap);
  if (silence) {
    await stop();
    return { missing: `Letterbox in dist/ does not answer IMAP on its port yet (${silence})` };
  }
  return {
    name: 'Letterbox',
    ports,
    port: ports.imap,
    get pid() {
      return child.pid;
    },
    pids: () => (child && child.exitCode === null ? [child.pid] : []),
    cli: (args, input) => execFileSync(process.execPath, [CLI, ...args, '--config', configFile], { env, input, encoding: 'utf8' }),
    restart: async ({ between } = {}) => {
      await halt();
      await between?.();
      await launch();
    },
    stop,
  };
}

/** A small SMTP client session: `send(line)` resolves with the next complete reply's code and text. */
function smtpSession(port) {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.setNoDelay(true);
  let buffer = '';
  let lines = [];
  const waiting = [];
  const ready = [];
  socket.setEncoding('latin1');
  socket.on('data', (text) => {
    buffer += text;
    let newline;
    while ((newline = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 2);
      lines.push(line);
      if (/^\d{3}-/.test(line)) continue;
      const reply = { code: Number(line.slice(0, 3)), text: lines.join('\n') };
      lines = [];
      const waiter = waiting.shift();
      if (waiter) waiter.resolve(reply);
      else ready.push(reply);
    }
  });
  const fail = (err) => waiting.splice(0).forEach((w) => w.reject(err ?? new Error('SMTP connection closed')));
  socket.on('error', fail);
  socket.on('close', () => fail());
  const next = () => (ready.length > 0 ? Promise.resolve(ready.shift()) : new Promise((resolve, reject) => waiting.push({ resolve, reject })));
  return {
    next,
    send: (data) => {
      socket.write(data);
      return next();
    },
    close: () => socket.end('QUIT\r\n'),
  };
}

async function expect(reply, code, what) {
  const answer = await reply;
  if (answer.code !== code) throw new Error(`SMTP ${what}: expected ${code}, got ${answer.text}`);
}

/** Delivers `messages` (Buffers with CRLF lines) to `recipient` over `sessions` parallel SMTP sessions. */
export async function fillBySmtp(port, recipient, messages, sessions = 10) {
  let next = 0;
  await Promise.all(
    Array.from({ length: sessions }, async () => {
      const smtp = smtpSession(port);
      await expect(smtp.next(), 220, 'greeting');
      await expect(smtp.send('EHLO fill.bench.test\r\n'), 250, 'EHLO');
      for (;;) {
        const i = next++;
        if (i >= messages.length) break;
        await expect(smtp.send('MAIL FROM:<sender@fill.bench.test>\r\n'), 250, 'MAIL');
        await expect(smtp.send(`RCPT TO:<${recipient}>\r\n`), 250, 'RCPT');
        await expect(smtp.send('DATA\r\n'), 354, 'DATA');
        // RFC 5321 4.5.2: a line starting with a dot gets another one.
        const body = messages[i].bytes.toString('latin1').replace(/^\./gm, '..');
        await expect(smtp.send(Buffer.concat([Buffer.from(body, 'latin1'), Buffer.from('.\r\n')])), 250, `message ${i}`);
      }
      smtp.close();
    }),
  );
}

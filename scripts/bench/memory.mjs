// Memory benchmark: resident size (VmRSS) of `letterbox serve` at start, after a login storm and after a
// connection flood, the workloads of the issue 6 attack battery; the target for a Pi Zero 2 W (512 MB for
// everything) is under 100 MB after each. Also the bytes of log each workload writes (info level), since a
// flood must not become a flood of log. Usable on its own: `node scripts/bench/memory.mjs`.
//
// - login storm: 200 AUTH PLAIN attempts, wrong passwords, over 20 parallel TLS connections on 465 (the
//   limits on failed logins are raised for the run so that every attempt is hashed: the worst case);
// - connection flood: 2,000 connections opened and dropped, 50 at a time from 40 loopback addresses,
//   in five ways: after the greeting on 25, after the TLS handshake on 465, in the middle of a ClientHello
//   on 465, after STARTTLS on 587, and in the middle of DATA on 25.
// Each figure is read after the workload and a few seconds of quiet, when nothing is in flight any more.
// `serve` runs twice: with the environment of the systemd unit (as installed) and without it (npm start).
// BENCH_MEMORY_LOG=FILE keeps the log of the runs.
import { appendFileSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { memoryOf, startLetterbox } from './smtp-accept.mjs';

const UNIT = fileURLToPath(new URL('../../systemd/letterbox.service', import.meta.url));
const DOMAIN = 'bench.test';
const USER = `user@${DOMAIN}`;
const PASSWORD = 'a long bench password';
const TARGET_MB = 100;
const SETTLE_MS = Number(process.env.BENCH_MEMORY_SETTLE_MS ?? 5_000);
const LOGINS = { connections: 20, attempts: 200 };
const FLOOD = { connections: Number(process.env.BENCH_MEMORY_FLOOD ?? 2_000), parallel: 50, addresses: 40 };

async function startServe(environment) {
  const logged = { bytes: 0, lines: 0, errors: 0 };
  const onLog = (chunk) => {
    if (process.env.BENCH_MEMORY_LOG) appendFileSync(process.env.BENCH_MEMORY_LOG, chunk);
    logged.bytes += chunk.length;
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      logged.lines += 1;
      if (line.includes('"level":50')) logged.errors += 1;
    }
  };
  // Every attempt of the storm reaches the password hash; the flood is spread over 40 addresses anyway.
  const smtp = {
    authFailureDelayMs: 1, authFailureMaxDelayMs: 1, authFailureLimit: 100_000, authAccountFailureLimit: 100_000,
    authFailuresPerConnection: 1_000, maxConnectionsPerClient: 20,
  };
  return { ...(await startLetterbox({ submission: true, smtp, environment, onLog })), logged };
}

/** A minimal line client over `socket`: `next()` resolves with the next complete reply's code. */
function replies(socket) {
  let buffer = '';
  const ready = [];
  const waiting = [];
  socket.setEncoding('latin1');
  socket.on('data', (text) => {
    buffer += text;
    let newline;
    while ((newline = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 2);
      if (!/^\d{3}(?: |$)/.test(line)) continue;
      const code = Number(line.slice(0, 3));
      const waiter = waiting.shift();
      if (waiter) waiter.resolve(code);
      else ready.push(code);
    }
  });
  const fail = () => waiting.splice(0).forEach((w) => w.resolve(0));
  socket.on('close', fail);
  socket.on('error', fail);
  return {
    next: () => (ready.length > 0 ? Promise.resolve(ready.shift()) : socket.destroyed ? Promise.resolve(0) : new Promise((resolve) => waiting.push({ resolve }))),
    command: (line) => {
      socket.write(`${line}\r\n`);
      return new Promise((resolve) => (ready.length > 0 ? resolve(ready.shift()) : waiting.push({ resolve })));
    },
  };
}

function opened(socket, event) {
  return new Promise((resolve) => {
    socket.once(event, () => resolve(true));
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

async function loginStorm(app) {
  const perConnection = LOGINS.attempts / LOGINS.connections;
  const codes = {};
  await Promise.all(
    Array.from({ length: LOGINS.connections }, async (_, c) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: app.ports.smtps, rejectUnauthorized: false });
      socket.on('error', () => {});
      const client = replies(socket);
      await client.next();
      await client.command('EHLO storm.test');
      for (let i = 0; i < perConnection; i++) {
        const user = i % 2 === 0 ? USER : `nobody${c}-${i}@${DOMAIN}`;
        const code = await client.command(`AUTH PLAIN ${Buffer.from(`\0${user}\0wrong password ${c}-${i}`).toString('base64')}`);
        codes[code] = (codes[code] ?? 0) + 1;
        if (code === 0 || code === 421) break;
      }
      socket.destroy();
    }),
  );
  return codes;
}

const FLOOD_KINDS = [
  // After the greeting on 25, with a reset.
  async (app, localAddress) => {
    const socket = connect({ host: '127.0.0.1', port: app.ports.smtp, localAddress });
    socket.on('error', () => {});
    await replies(socket).next();
    socket.resetAndDestroy();
  },
  // After the TLS handshake on 465.
  async (app, localAddress) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: app.ports.smtps, localAddress, rejectUnauthorized: false });
    socket.on('error', () => {});
    await opened(socket, 'secureConnect');
    socket.destroy();
  },
  // In the middle of a ClientHello on 465.
  async (app, localAddress) => {
    const socket = connect({ host: '127.0.0.1', port: app.ports.smtps, localAddress });
    socket.on('error', () => {});
    if (await opened(socket, 'connect')) socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    await sleep(20);
    socket.resetAndDestroy();
  },
  // After STARTTLS on 587.
  async (app, localAddress) => {
    const plain = connect({ host: '127.0.0.1', port: app.ports.submission, localAddress });
    plain.on('error', () => {});
    const client = replies(plain);
    if ((await client.next()) !== 220 || (await client.command('EHLO flood.test')) !== 250 || (await client.command('STARTTLS')) !== 220) return plain.destroy();
    plain.removeAllListeners('data');
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    secure.on('error', () => {});
    await opened(secure, 'secureConnect');
    secure.destroy();
  },
  // In the middle of DATA on 25.
  async (app, localAddress) => {
    const socket = connect({ host: '127.0.0.1', port: app.ports.smtp, localAddress });
    socket.on('error', () => {});
    const client = replies(socket);
    if ((await client.next()) !== 220) return socket.destroy();
    await client.command('EHLO flood.test');
    await client.command('MAIL FROM:<flood@remote.test>');
    await client.command(`RCPT TO:<${USER}>`);
    if ((await client.command('DATA')) === 354) socket.write(`Subject: cut\r\n\r\n${'x'.repeat(4096)}\r\n`);
    await sleep(20);
    socket.resetAndDestroy();
  },
];

async function connectionFlood(app) {
  let next = 0;
  await Promise.all(
    Array.from({ length: FLOOD.parallel }, async (_, worker) => {
      for (;;) {
        const i = next++;
        if (i >= FLOOD.connections) return;
        const localAddress = `127.0.0.${2 + ((worker + i) % FLOOD.addresses)}`;
        const kind = FLOOD_KINDS[i % FLOOD_KINDS.length];
        await Promise.race([kind(app, localAddress).catch(() => {}), sleep(10_000)]);
      }
    }),
  );
}

async function settled(app) {
  await sleep(SETTLE_MS);
  return memoryOf(app.pid).rss;
}

/** Runs `work` while sampling VmRSS every 100 ms; resolves with its result and the highest sample. */
async function sampled(app, work) {
  let peak = memoryOf(app.pid).rss;
  const timer = setInterval(() => (peak = Math.max(peak, memoryOf(app.pid).rss)), 100);
  try {
    const result = await work();
    return { result, peak };
  } finally {
    clearInterval(timer);
  }
}

function logSince(app, before) {
  return { bytes: app.logged.bytes - before.bytes, lines: app.logged.lines - before.lines, errors: app.logged.errors - before.errors };
}

const mb = (value) => value.toFixed(0);

/** The Environment= settings of the systemd unit, which the appliance runs with (malloc tuning). */
export function unitEnvironment() {
  const unit = readFileSync(UNIT, 'utf8');
  return Object.fromEntries([...unit.matchAll(/^Environment=(\w+)=(.*)$/gm)].map(([, name, value]) => [name, value]));
}

/** The three workloads on one `serve`; resolves with their figures. */
async function measure(environment, log, label) {
  const app = await startServe(environment);
  try {
    app.cli(['domain', 'add', DOMAIN]);
    app.cli(['user', 'add', USER, '--password-stdin'], `${PASSWORD}\n`);
    const start = await settled(app);
    log(`memory (${label}): ${mb(start)} MB after start`);

    let before = { ...app.logged };
    const storm = await sampled(app, () => loginStorm(app));
    const afterStorm = await settled(app);
    const stormLog = logSince(app, before);
    log(`memory (${label}): ${mb(afterStorm)} MB after the login storm (peak ${mb(storm.peak)} MB; replies ${JSON.stringify(storm.result)}; log ${stormLog.lines} lines, ${stormLog.bytes} bytes)`);

    before = { ...app.logged };
    const flood = await sampled(app, () => connectionFlood(app));
    const afterFlood = await settled(app);
    const floodLog = logSince(app, before);
    log(`memory (${label}): ${mb(afterFlood)} MB after the connection flood (peak ${mb(flood.peak)} MB; log ${floodLog.lines} lines, ${floodLog.bytes} bytes, ${floodLog.errors} at error)`);
    return { start, afterStorm, afterFlood, storm, stormLog, flood, floodLog };
  } finally {
    await app.stop();
  }
}

export async function run({ log = console.log } = {}) {
  const unit = unitEnvironment();
  const installed = await measure(unit, log, 'systemd unit environment');
  const plain = await measure({}, log, 'plain environment');

  const logged = (written) => `${written.lines} lines, ${(written.bytes / 1024).toFixed(0)} KiB, ${written.errors} at error`;
  const rows = (label, m) => [
    `| ${label} | **${mb(m.start)}** | **${mb(m.afterStorm)}** (${mb(m.storm.peak)}) | **${mb(m.afterFlood)}** (${mb(m.flood.peak)}) |`,
  ];
  const worst = Math.max(installed.start, installed.afterStorm, installed.afterFlood);
  const markdown = [
    `\`letterbox serve\` from dist/, log level info. VmRSS in MB, read from /proc ${SETTLE_MS / 1000} s after each workload; in brackets the highest value sampled every 100 ms during it. Target: under ${TARGET_MB} MB after every workload (a Pi Zero 2 W has 512 MB for everything).`,
    '',
    `- login storm: ${LOGINS.attempts} AUTH PLAIN with wrong passwords over ${LOGINS.connections} parallel TLS connections on 465, the failed-login limits raised so that every attempt reaches the password check (the worst case for memory);`,
    `- connection flood: ${FLOOD.connections} connections opened and dropped, ${FLOOD.parallel} at a time from ${FLOOD.addresses} loopback addresses: after the greeting on 25, after the TLS handshake on 465, in the middle of a ClientHello, after STARTTLS on 587, in the middle of DATA.`,
    '',
    '| environment | start | after the login storm | after the connection flood |',
    '|---|---:|---:|---:|',
    ...rows(`as installed (${Object.entries(unit).map(([k, v]) => `\`${k}=${v}\``).join(', ')}, from systemd/letterbox.service)`, installed),
    ...rows('plain `node dist/cli.js serve` (`npm start`)', plain),
    '',
    `Log written (as installed): login storm ${logged(installed.stormLog)}; connection flood ${logged(installed.floodLog)}. Login storm replies by code: ${Object.entries(installed.storm.result).map(([code, n]) => `${code} × ${n}`).join(', ')}.`,
    '',
    worst < TARGET_MB ? `As installed, within the target: at most ${mb(worst)} MB.` : `**Over the target** as installed: ${mb(worst)} MB.`,
    'Without the unit\'s malloc setting glibc keeps a 16 MiB scrypt block in each libuv worker thread that ever checked a password.',
  ].join('\n');
  return { title: 'Memory under attack', markdown };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { markdown } = await run();
  console.log(`\n${markdown}`);
}

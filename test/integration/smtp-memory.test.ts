// Resident memory after a login storm and a connection flood (issue 6). The figures against the 100 MB
// target of a Pi Zero 2 W are the memory benchmark's (scripts/bench/memory.mjs, docs/PERFORMANCE.md):
// VmRSS moves with the machine, the kernel and the load beside the test, so here the bound is one that
// cannot flake, there to catch memory that is never given back. It does not tell the code before issue 6
// from the code after (about 100 MB here against 80-95; without the unit's malloc setting 180-230 MB
// against 130-180): the benchmark does.
// The appliance runs with the environment of its systemd unit, as it does on the box; tap's process
// tracking puts itself into every child's NODE_OPTIONS, so here it weighs some 25 MB more than there.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import t from 'tap';
import { ALICE, DOMAIN } from '../helpers/addresses.js';
import { startAppliance, provision, type RunningAppliance } from '../helpers/appliance.js';
import { SmtpClient } from '../helpers/smtp.js';

t.setTimeout(240_000);

const BOUND_MB = 150;
const UNIT = new URL('../../systemd/letterbox.service', import.meta.url);

function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
}

async function repeat(times: number, parallel: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < times) await work(next++).catch(() => {});
  }));
}

/** 200 wrong passwords over 20 connections from 20 addresses, every one of them hashed. */
async function loginStorm(app: RunningAppliance): Promise<void> {
  await repeat(20, 20, async (c) => {
    const client = await SmtpClient.connect(app.ports.smtps, { implicitTls: true, localAddress: `127.0.1.${c + 1}` });
    await client.ehlo();
    for (let i = 0; i < 10; i++) await client.authPlain(`nobody${c}-${i}@letterbox.test`, `wrong password ${i}`);
    await client.quit();
  });
}

/** `count` connections opened and dropped: after the greeting, mid-handshake, after TLS, in DATA. */
async function connectionFlood(app: RunningAppliance, count: number): Promise<void> {
  const ways = [
    async (localAddress: string) => (await SmtpClient.connect(app.ports.smtp, { localAddress })).destroy(),
    (localAddress: string) =>
      new Promise<void>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: app.ports.smtps, localAddress }, () => socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), () => socket.resetAndDestroy()));
        socket.on('error', () => {});
        socket.once('close', () => resolve());
      }),
    (localAddress: string) =>
      new Promise<void>((resolve) => {
        const plain = connect({ host: '127.0.0.1', port: app.ports.smtps, localAddress });
        const socket = tlsConnect({ socket: plain, rejectUnauthorized: false }, () => socket.destroy());
        plain.on('error', () => {});
        socket.on('error', () => {});
        socket.once('close', () => resolve());
      }),
    async (localAddress: string) => {
      const client = await SmtpClient.connect(app.ports.smtp, { localAddress });
      await client.ehlo();
      await client.command('MAIL FROM:<someone@remote.test>');
      await client.command(`RCPT TO:<${ALICE}>`);
      await client.command('DATA');
      client.write(`Subject: cut\r\n\r\n${'x'.repeat(4096)}\r\n`);
      client.destroy();
    },
  ];
  await repeat(count, 40, (i) => ways[i % ways.length]!(`127.0.2.${1 + (i % 40)}`));
}

t.test(`resident memory stays under ${BOUND_MB} MB after a login storm and a connection flood`, async (t) => {
  for (const [, name, value] of readFileSync(UNIT, 'utf8').matchAll(/^Environment=(\w+)=(.*)$/gm)) process.env[name!] = value;
  const app = await startAppliance({ config: { smtp: { authFailureDelayMs: 1, authFailureMaxDelayMs: 1, authFailuresPerConnection: 10 } } });
  t.teardown(() => app.cleanup());
  await provision(app, [DOMAIN], [ALICE]);
  const pid = app.child.pid!;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 3_000));

  await settle();
  const atStart = residentMb(pid);
  await loginStorm(app);
  await settle();
  const afterStorm = residentMb(pid);
  await connectionFlood(app, 1_000);
  await settle();
  const afterFlood = residentMb(pid);
  t.comment(`VmRSS: ${atStart.toFixed(0)} MB at start, ${afterStorm.toFixed(0)} MB after the login storm, ${afterFlood.toFixed(0)} MB after the flood`);
  t.ok(afterStorm < BOUND_MB, `after the login storm: ${afterStorm.toFixed(0)} MB`);
  t.ok(afterFlood < BOUND_MB, `after the connection flood: ${afterFlood.toFixed(0)} MB`);
  t.notOk(app.logs.some((l) => (l.level as number) >= 50), 'and nothing logged as a fault of ours');
});

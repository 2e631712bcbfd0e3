// The client side of the SMTP attack battery (issue 6), shared by the tests that measure one defect
// each and by the longer runs of `npm run soak -- attack`: floods of connections dropped at every
// stage, login storms, harvesting, and the way a client leaves in the middle of a message.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ALICE } from './addresses.js';
import type { RunningAppliance } from './appliance.js';
import { SmtpClient } from './smtp.js';

/** The first bytes of a TLS ClientHello, and no more. */
const PARTIAL_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);

/** Resident memory of a process, in MB (VmRSS). */
export function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
}

/** Runs `work` `times` times, `parallel` at once; a failed run (a refused connection) does not stop the others. */
export async function repeat(times: number, parallel: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < times) await work(next++).catch(() => {});
    }),
  );
}

/** A connection from `localAddress` that sends the start of a ClientHello, then resets. */
export function brokenHandshake(port: number, localAddress: string): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: '127.0.0.1', port, localAddress }, () => {
      socket.write(PARTIAL_HELLO, () => setTimeout(() => socket.resetAndDestroy(), 5));
    });
    socket.on('error', () => {});
    socket.once('close', () => resolve());
  });
}

/** A client from `localAddress` that starts a message on 25 and resets in the middle of it. */
export async function leaveInData(port: number, localAddress: string): Promise<void> {
  const client = await SmtpClient.connect(port, { localAddress });
  await client.ehlo();
  await client.command('MAIL FROM:<someone@remote.test>');
  await client.command(`RCPT TO:<${ALICE}>`);
  await client.command('DATA');
  client.write(`Subject: cut short\r\n\r\n${'x'.repeat(2048)}\r\n`);
  await new Promise((resolve) => setTimeout(resolve, 20));
  client.destroy();
}

/** 200 wrong passwords over 20 connections from 20 addresses, every one of them hashed. */
export async function loginStorm(app: RunningAppliance): Promise<void> {
  await repeat(20, 20, async (c) => {
    const client = await SmtpClient.connect(app.ports.smtps, { implicitTls: true, localAddress: `127.0.1.${c + 1}` });
    await client.ehlo();
    for (let i = 0; i < 10; i++) await client.authPlain(`nobody${c}-${i}@letterbox.test`, `wrong password ${i}`);
    await client.quit();
  });
}

/** `count` connections opened and dropped: after the greeting, mid-handshake, after TLS, in DATA. */
export async function connectionFlood(app: RunningAppliance, count: number): Promise<void> {
  const ways = [
    async (localAddress: string) => (await SmtpClient.connect(app.ports.smtp, { localAddress })).destroy(),
    (localAddress: string) => brokenHandshake(app.ports.smtps, localAddress),
    (localAddress: string) =>
      new Promise<void>((resolve) => {
        const plain = connect({ host: '127.0.0.1', port: app.ports.smtps, localAddress });
        const socket = tlsConnect({ socket: plain, rejectUnauthorized: false }, () => socket.destroy());
        plain.on('error', () => {});
        socket.on('error', () => {});
        socket.once('close', () => resolve());
      }),
    (localAddress: string) => leaveInData(app.ports.smtp, localAddress),
  ];
  await repeat(count, 40, (i) => ways[i % ways.length]!(`127.0.2.${1 + (i % 40)}`));
}

/**
 * Guesses recipients at `domain` on one connection from `localAddress` until the server closes it or
 * `count` were tried; returns how many were answered.
 */
export async function harvest(app: RunningAppliance, domain: string, count: number, localAddress: string): Promise<number> {
  const client = await SmtpClient.connect(app.ports.smtp, { localAddress });
  let answered = 0;
  try {
    await client.ehlo();
    await client.command('MAIL FROM:<harvester@elsewhere.test>');
    for (; answered < count; answered++) {
      const reply = await client.command(`RCPT TO:<guess${answered}@${domain}>`);
      if (reply.code === 421) break;
    }
  } catch {
    // The server closed the connection: that is the answer.
  } finally {
    client.destroy();
  }
  return answered;
}

// A remote MX that misbehaves on request, on a loopback address: it answers RCPT with whatever the test
// scripts (a megabyte of text, a multi-line refusal), or takes connections and never greets. Small and
// line-based on purpose: real servers (Postfix, smtp-sink) cannot be made to lie like this.
import { createServer, type Server, type Socket } from 'node:net';
import type { TapLike } from './remote-mta.js';

export interface HostileMxOptions {
  host: string;
  port: number;
  /** false: accept the connection and say nothing, ever. */
  greet?: boolean;
  /** The reply to each RCPT (without the final CRLF); default `250 2.1.5 Ok`. */
  rcpt?: (address: string) => string;
}

export interface HostileMx {
  /** Connections taken so far. */
  readonly connections: number;
  /** RCPT addresses asked for, in order. */
  readonly recipients: string[];
  /** Messages accepted (the bytes between DATA and the final dot). */
  readonly messages: string[];
}

export async function startHostileMx(t: TapLike, options: HostileMxOptions): Promise<HostileMx> {
  const state = { connections: 0, recipients: [] as string[], messages: [] as string[] };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (options.greet === false) return;
    converse(socket, options, state);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return state;
}

function converse(socket: Socket, options: HostileMxOptions, state: { recipients: string[]; messages: string[] }): void {
  let buffered = '';
  let inData = false;
  const say = (reply: string) => socket.write(`${reply}\r\n`);
  say('220 hostile.test ESMTP');
  socket.setEncoding('latin1');
  socket.on('data', (text: string) => {
    buffered += text;
    for (;;) {
      if (inData) {
        const end = buffered.indexOf('\r\n.\r\n');
        if (end < 0) return;
        state.messages.push(buffered.slice(0, end + 2));
        buffered = buffered.slice(end + 5);
        inData = false;
        say('250 2.0.0 Ok: queued');
        continue;
      }
      const newline = buffered.indexOf('\r\n');
      if (newline < 0) return;
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 2);
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO' || verb === 'HELO') say('250 hostile.test');
      else if (verb === 'MAIL' || verb === 'RSET' || verb === 'NOOP') say('250 2.0.0 Ok');
      else if (verb === 'RCPT') {
        const address = /<([^>]*)>/.exec(line)?.[1] ?? '';
        state.recipients.push(address);
        say(options.rcpt?.(address) ?? '250 2.1.5 Ok');
      } else if (verb === 'DATA') {
        inData = true;
        say('354 End data with <CR><LF>.<CR><LF>');
      } else if (verb === 'QUIT') {
        say('221 2.0.0 Bye');
        socket.end();
        return;
      } else say('502 5.5.2 Command not recognized');
    }
  });
}

// A remote MX that misbehaves on request, on a loopback address: it answers RCPT with whatever the test
// scripts (a megabyte of text, a multi-line refusal), replaces any other reply, takes connections and
// never greets, or sends a reply a byte a second, or without end as fast as the connection takes it,
// or not at all. Small and line-based on purpose: real servers (Postfix, smtp-sink) cannot be made to
// lie like this.
import { createServer, type Server, type Socket } from 'node:net';
import type { TapLike } from './remote-mta.js';

/** The replies a test can replace or pace; `final` is the reply after the message's dot. */
export type MxStage = 'greeting' | 'ehlo' | 'starttls' | 'mail' | 'rcpt' | 'data' | 'final' | 'rset';

/**
 * How a reply is written: `whole` (the default); `trickle`, a reply that never ends, one byte every
 * `trickleMs`; `flood`, a reply that never ends, as fast as the connection takes it; `never`, nothing.
 */
export type MxPace = 'whole' | 'trickle' | 'flood' | 'never';

export interface HostileMxOptions {
  host: string;
  port: number;
  /** false: accept the connection and say nothing, ever. */
  greet?: boolean;
  /** The reply to each RCPT (without the final CRLF); default `250 2.1.5 Ok`. */
  rcpt?: (address: string) => string;
  /** Other replies replaced (without the final CRLF; CRLF between the lines of a multi-line one). */
  reply?: Partial<Record<Exclude<MxStage, 'rcpt'>, string>>;
  /** `nth` counts that stage over every connection, from 1. */
  pace?: (stage: MxStage, nth: number) => MxPace;
  trickleMs?: number;
}

export interface MxConnection {
  openedAt: number;
  /** When the server saw the connection end (closed or reset). */
  closedAt?: number;
  /** Bytes of a `flood` reply that the connection took before it ended. */
  floodedBytes: number;
  flooding?: boolean;
}

export interface HostileMx {
  /** Connections taken so far. */
  readonly connections: number;
  readonly sessions: MxConnection[];
  /** RCPT addresses asked for, in order. */
  readonly recipients: string[];
  /** Messages accepted (the bytes between DATA and the final dot). */
  readonly messages: string[];
  /** Resolves once `count` connections have ended. */
  ended(count: number): Promise<MxConnection[]>;
  /** Resolves with what `probe` returns once that is truthy; looked at again after every event here. */
  until<T>(probe: () => T | undefined | false): Promise<T>;
}

const DEFAULT_REPLIES: Record<Exclude<MxStage, 'rcpt'>, string> = {
  greeting: '220 hostile.test ESMTP',
  ehlo: '250 hostile.test',
  starttls: '454 4.7.0 TLS not available',
  mail: '250 2.0.0 Ok',
  data: '354 End data with <CR><LF>.<CR><LF>',
  final: '250 2.0.0 Ok: queued',
  rset: '250 2.0.0 Ok',
};

export async function startHostileMx(t: TapLike, options: HostileMxOptions): Promise<HostileMx> {
  const sessions: MxConnection[] = [];
  const state = { recipients: [] as string[], messages: [] as string[], counts: new Map<MxStage, number>() };
  const waiters: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const changed = () => {
    for (const wake of waiters.splice(0)) wake();
  };
  // A flooding server does not hang up when we do: after our FIN it keeps writing for as long as we
  // read. Any other hangs up in turn.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const session: MxConnection = { openedAt: Date.now(), floodedBytes: 0 };
    sessions.push(session);
    sockets.add(socket);
    socket.on('close', () => {
      session.closedAt = Date.now();
      sockets.delete(socket);
      changed();
    });
    socket.on('error', () => {});
    socket.on('end', () => {
      if (!session.flooding) socket.end();
    });
    changed();
    if (options.greet === false) return;
    converse(socket, session, options, { ...state, changed });
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
  const until = async <T>(probe: () => T | undefined | false): Promise<T> => {
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const ended = (count: number) =>
    until(() => {
      const done = sessions.filter((s) => s.closedAt !== undefined);
      return done.length >= count && done;
    });
  return {
    get connections() {
      return sessions.length;
    },
    sessions,
    recipients: state.recipients,
    messages: state.messages,
    ended,
    until,
  };
}

interface Conversation {
  recipients: string[];
  messages: string[];
  counts: Map<MxStage, number>;
  changed(): void;
}

function converse(socket: Socket, session: MxConnection, options: HostileMxOptions, state: Conversation): void {
  let buffered = '';
  let inData = false;
  const say = (stage: MxStage, reply: string) => {
    const nth = (state.counts.get(stage) ?? 0) + 1;
    state.counts.set(stage, nth);
    const pace = options.pace?.(stage, nth) ?? 'whole';
    if (pace === 'whole') socket.write(`${reply}\r\n`);
    else if (pace === 'trickle') trickle(socket, reply.slice(0, 3), options.trickleMs ?? 1000);
    else if (pace === 'flood') flood(socket, session, reply.slice(0, 3));
  };
  say('greeting', options.reply?.greeting ?? DEFAULT_REPLIES.greeting);
  socket.setEncoding('latin1');
  socket.on('data', (text: string) => {
    buffered += text;
    for (;;) {
      if (inData) {
        const end = buffered.indexOf('\r\n.\r\n');
        if (end < 0) return;
        state.messages.push(buffered.slice(0, end + 2));
        state.changed();
        buffered = buffered.slice(end + 5);
        inData = false;
        say('final', options.reply?.final ?? DEFAULT_REPLIES.final);
        continue;
      }
      const newline = buffered.indexOf('\r\n');
      if (newline < 0) return;
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 2);
      const stage = stageOf(line.slice(0, 8).toUpperCase());
      if (stage === 'rcpt') {
        const address = /<([^>]*)>/.exec(line)?.[1] ?? '';
        state.recipients.push(address);
        state.changed();
        say('rcpt', options.rcpt?.(address) ?? '250 2.1.5 Ok');
      } else if (stage === 'quit') {
        socket.end('221 2.0.0 Bye\r\n');
        return;
      } else if (stage) {
        const reply = options.reply?.[stage] ?? DEFAULT_REPLIES[stage];
        say(stage, reply);
        if (stage === 'data' && /^3/.test(reply)) inData = true;
      } else socket.write('502 5.5.2 Command not recognized\r\n');
    }
  });
}

function stageOf(verb: string): Exclude<MxStage, 'greeting' | 'final'> | 'quit' | undefined {
  if (verb.startsWith('EHLO') || verb.startsWith('HELO')) return 'ehlo';
  if (verb.startsWith('STARTTLS')) return 'starttls';
  if (verb.startsWith('MAIL')) return 'mail';
  if (verb.startsWith('RCPT')) return 'rcpt';
  if (verb.startsWith('DATA')) return 'data';
  if (verb.startsWith('RSET') || verb.startsWith('NOOP')) return 'rset';
  if (verb.startsWith('QUIT')) return 'quit';
  return undefined;
}

/** `250-slow 250-slow ...`, one byte at a time: never a whole reply, never a pause long enough to idle out. */
function trickle(socket: Socket, code: string, intervalMs: number): void {
  const line = `${code}-slow\r\n`;
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(line[sent % line.length] as string);
    sent += 1;
  }, intervalMs);
  socket.once('close', () => clearInterval(timer));
}

/** Continuation lines of 64 KiB chunks, each written when the connection has taken the one before. */
function flood(socket: Socket, session: MxConnection, code: string): void {
  const chunk = Buffer.from(`${code}-${'x'.repeat(1018)}\r\n`.repeat(64));
  session.flooding = true;
  const more = () => {
    while (!socket.destroyed && socket.writable) {
      session.floodedBytes += chunk.length;
      if (!socket.write(chunk)) return void socket.once('drain', more);
    }
  };
  more();
}

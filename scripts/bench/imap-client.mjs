// A minimal IMAP client for the benchmarks, the same for Letterbox and Dovecot so that the client's own
// cost is equal on both sides and small: it tags commands, reads responses until the tagged one, and
// steps over literals by their byte count (RFC 3501 4.3) without building strings of them, unless asked
// to keep the untagged responses (`{ keep: true }`, for the few small answers a benchmark looks into).
// It follows the mailbox size the server announces (`* n EXISTS`, `* n EXPUNGE`, RFC 3501 7.3.1, 7.4.1)
// so that sequence numbers it sends are always ones the server has told it about.
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';

const LF = 0x0a;
// A line ending in a literal's announcement: `{123}` or `~{123}` (RFC 3516 literal8) before CRLF.
const LITERAL_AT_END = /~?\{(\d+)\}\r?\n$/;

/** A command's outcome: the tagged status, its text, and what came before it. */
class Outcome {
  constructor() {
    this.status = '';
    this.text = '';
    this.untagged = 0;
    this.bytes = 0;
    /** From sending the command to its tagged answer. */
    this.ms = 0;
    /** Untagged responses as latin1 strings, literals included, when the command asked to keep them. */
    this.responses = [];
  }
}

export class ImapClient {
  /** Connects and waits for the greeting; rejects unless it is `* OK` (or `* PREAUTH`). */
  static async open(port, host = '127.0.0.1', timeoutMs = 30_000) {
    const socket = connect({ port, host });
    socket.setNoDelay(true);
    const client = new ImapClient(socket, timeoutMs);
    const greeting = await client.#awaitGreeting();
    if (!/^\* (OK|PREAUTH)/i.test(greeting)) {
      socket.destroy();
      throw new Error(`IMAP server on port ${port} greeted with: ${greeting.trim()}`);
    }
    client.greeting = greeting.trim();
    return client;
  }

  #socket;
  #timeoutMs;
  #tagCount = 0;
  #partial = [];
  #literalLeft = 0;
  /** The response being read (its lines and literals), kept only when the current command keeps them. */
  #current = [];
  #currentBytes = 0;
  #pending = null;
  #greetingWaiter = null;
  #continuationWaiter = null;
  #failure = null;

  constructor(socket, timeoutMs) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    /** Messages in the selected mailbox as far as the server has said. */
    this.exists = 0;
    /** Everything read from the server, in bytes. */
    this.bytesRead = 0;
    socket.on('data', (chunk) => this.#read(chunk));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('the IMAP server closed the connection')));
  }

  /**
   * Sends `tag command` and resolves with its Outcome at the tagged response. `literals` are sent after
   * the command text, each announced as a synchronising literal and sent once the server says `+`.
   */
  async command(command, { literals = [], keep = false } = {}) {
    if (this.#failure) throw this.#failure;
    if (this.#pending) throw new Error('one command at a time');
    const tag = `b${++this.#tagCount}`;
    const outcome = new Outcome();
    const sent = performance.now();
    const done = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${tag} ${command.slice(0, 60)} in ${this.#timeoutMs / 1000} s`)), this.#timeoutMs);
      const finish = (value) => {
        clearTimeout(timer);
        value.ms = performance.now() - sent;
        resolve(value);
      };
      this.#pending = { tag, outcome, keep, resolve: finish, reject: (err) => (clearTimeout(timer), reject(err)) };
    });
    done.catch(() => {});
    if (literals.length === 0) {
      this.#socket.write(`${tag} ${command}\r\n`);
    } else {
      this.#socket.write(`${tag} ${command} {${literals[0].length}}\r\n`);
      for (let i = 0; i < literals.length; i++) {
        const answer = await Promise.race([this.#continuation(), done]);
        if (answer instanceof Outcome) return answer; // refused before the literal (NO/BAD)
        const next = literals[i + 1];
        this.#socket.write(Buffer.concat([literals[i], Buffer.from(next ? ` {${next.length}}\r\n` : '\r\n')]));
      }
    }
    return done;
  }

  /** LOGOUT, then the end of the connection. */
  async logout() {
    const closed = new Promise((resolve) => this.#socket.once('close', resolve));
    await this.command('LOGOUT').catch(() => {});
    this.#socket.end();
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    this.#socket.destroy();
  }

  destroy() {
    this.#socket.destroy();
  }

  #awaitGreeting() {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no IMAP greeting')), this.#timeoutMs);
      this.#greetingWaiter = { resolve: (line) => (clearTimeout(timer), resolve(line)), reject: (err) => (clearTimeout(timer), reject(err)) };
    });
  }

  #continuation() {
    return new Promise((resolve, reject) => (this.#continuationWaiter = { resolve, reject }));
  }

  #fail(err) {
    if (this.#failure) return;
    this.#failure = err;
    this.#greetingWaiter?.reject(err);
    this.#continuationWaiter?.reject(err);
    this.#pending?.reject(err);
    this.#pending = null;
  }

  #keeping() {
    return this.#pending?.keep === true || this.#greetingWaiter !== null;
  }

  #read(chunk) {
    this.bytesRead += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      if (this.#literalLeft > 0) {
        const take = Math.min(this.#literalLeft, chunk.length - at);
        if (this.#keeping()) this.#current.push(chunk.subarray(at, at + take));
        this.#currentBytes += take;
        this.#literalLeft -= take;
        at += take;
        continue;
      }
      const newline = chunk.indexOf(LF, at);
      if (newline < 0) {
        this.#partial.push(chunk.subarray(at));
        return;
      }
      const piece = chunk.subarray(at, newline + 1);
      const line = this.#partial.length === 0 ? piece : Buffer.concat([...this.#partial, piece]);
      this.#partial = [];
      at = newline + 1;
      this.#line(line);
    }
  }

  /** One CRLF-ended line: either it announces a literal (the response goes on) or it ends a response. */
  #line(line) {
    this.#currentBytes += line.length;
    // Only the end of the line can hold `{n}`; decoding a short tail is cheap even for long lines.
    const tail = line.length > 24 ? line.subarray(line.length - 24) : line;
    const literal = LITERAL_AT_END.exec(tail.toString('latin1'));
    const first = this.#current.length === 0 ? line : null;
    if (this.#keeping() || first) this.#current.push(line);
    if (literal) {
      this.#literalLeft = Number(literal[1]);
      return;
    }
    const head = this.#current[0];
    const response = this.#keeping() ? Buffer.concat(this.#current).toString('latin1') : null;
    const bytes = this.#currentBytes;
    this.#current = [];
    this.#currentBytes = 0;
    this.#response(head, response, bytes);
  }

  #response(head, whole, bytes) {
    const start = head.subarray(0, Math.min(head.length, 200)).toString('latin1');
    if (this.#greetingWaiter) {
      const waiter = this.#greetingWaiter;
      this.#greetingWaiter = null;
      return waiter.resolve(start);
    }
    if (start.startsWith('+')) {
      const waiter = this.#continuationWaiter;
      this.#continuationWaiter = null;
      return waiter?.resolve(start);
    }
    const pending = this.#pending;
    if (start.startsWith('* ')) {
      this.#untagged(start);
      if (pending) {
        pending.outcome.untagged += 1;
        pending.outcome.bytes += bytes;
        if (pending.keep) pending.outcome.responses.push(whole);
      }
      return;
    }
    if (!pending || !start.startsWith(`${pending.tag} `)) return this.#fail(new Error(`unexpected response: ${start.trim()}`));
    const [, status, text] = /^\S+ (\S+) ?(.*?)\r?\n?$/s.exec(start) ?? [];
    pending.outcome.status = (status ?? '').toUpperCase();
    pending.outcome.text = text ?? '';
    pending.outcome.bytes += bytes;
    this.#pending = null;
    pending.resolve(pending.outcome);
  }

  /** Tracks the mailbox size from EXISTS and EXPUNGE (short responses; FETCH lines are skipped fast). */
  #untagged(start) {
    if (start.length > 40) return;
    const size = /^\* (\d+) (EXISTS|EXPUNGE)\r?\n$/i.exec(start);
    if (!size) return;
    if (size[2].toUpperCase() === 'EXISTS') this.exists = Number(size[1]);
    else this.exists -= 1;
  }
}

/** A quoted string (RFC 3501 4.3) for LOGIN; the benchmarks' user names and passwords are plain. */
export function quoted(text) {
  return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Opens a session and logs in; throws unless LOGIN answers OK. `timeoutMs` is per command. */
export async function login(port, user, password, timeoutMs = 30_000) {
  const client = await ImapClient.open(port, '127.0.0.1', timeoutMs);
  const answer = await client.command(`LOGIN ${quoted(user)} ${quoted(password)}`);
  if (answer.status !== 'OK') {
    client.destroy();
    throw new Error(`LOGIN as ${user} on port ${port}: ${answer.status} ${answer.text}`);
  }
  return client;
}

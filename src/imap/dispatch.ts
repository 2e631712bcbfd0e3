// Running one command on a connection: the state check (RFC 3501 3), the context its handler gets, the
// answer to what it throws, the updates the client may be told before the tagged line (RFC 3501 7.4.1,
// 5.2), and what happens after the answer (TLS, DEFLATE, close).
import { ImapBackendError } from './backend.js';
import type { CommandContext, CommandSpec, ConnectionCommandSpec, ConnectionContext, ConnectionControl, SessionState } from './command.js';
import type { ImapConnection } from './connection.js';
import type { ImapCommand } from './wire/values.js';
import { texts } from './responses.js';

export type AnyCommand = CommandSpec | ConnectionCommandSpec;

type Status = 'OK' | 'NO' | 'BAD';

interface Answer {
  status: Status;
  text: string;
  code?: string | undefined;
}

/** RFC 3501 7.4.1: no EXPUNGE while these run (their UID forms may have them). */
const NO_EXPUNGE_DURING = new Set(['FETCH', 'STORE', 'SEARCH']);
const STAR = Buffer.from('* ', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * A command in a state where it is not allowed: BAD, as Dovecot 2.3 answers every such case (checked
 * against it: SELECT before login, FETCH or CLOSE with nothing selected, LOGIN or STARTTLS once logged in).
 */
export function stateRefusal(state: SessionState, spec: AnyCommand): Answer {
  if (state === 'not-authenticated') return { status: 'BAD', text: 'Log in first' };
  if (spec.states.includes('selected') && !spec.states.includes('authenticated')) return { status: 'BAD', text: 'No mailbox selected' };
  if (spec.states.includes('not-authenticated')) return { status: 'BAD', text: 'Already logged in' };
  return { status: 'BAD', text: `${spec.name} is not allowed now` };
}

function control(conn: ImapConnection): ConnectionControl {
  return {
    backend: conn.deps.backend,
    continuation: (text) => conn.write(Buffer.from(`+ ${text.replace(/[\r\n]+/g, ' ')}\r\n`, 'utf8')),
    readLine: () => conn.readLine(),
    // A BYE already given (shutdown, autologout) wins over what the command asked for.
    startTls: () => void (conn.afterAnswer ??= 'starttls'),
    startCompression: () => void (conn.afterAnswer ??= 'compress'),
    get compressed() {
      return conn.transport.compressed;
    },
    get loginAllowed() {
      return conn.loginAllowed;
    },
    admit: (account) => {
      if (!conn.deps.sessions.admit(account.user)) return false;
      conn.admittedUser = account.user;
      return true;
    },
    loginFailed: () => conn.countLoginFailure(),
    bye: (text) => conn.bye(text),
    watchChanges: (wake) => {
      conn.wake = wake;
      return () => {
        if (conn.wake === wake) conn.wake = null;
      };
    },
  };
}

function makeContext(conn: ImapConnection, command: ImapCommand, answers: Answer[]): ConnectionContext {
  const record = (status: Status) => (text: string, code?: string) => void answers.push({ status, text, code });
  return {
    tag: command.tag,
    command,
    session: conn.session,
    untagged: (values) => conn.write(conn.encoder.response('*', values)),
    untaggedStatus: (status, text, code) => conn.write(conn.encoder.status('*', status, text, code)),
    ok: record('OK'),
    no: record('NO'),
    bad: record('BAD'),
    drained: () => conn.transport.drained(),
    encode: (values) => conn.encoder.encode(values),
    keepEncoded: (key, make) => {
      // RFC 6855 3: after ENABLE UTF8=ACCEPT strings are encoded differently, so kept apart.
      const mode = conn.encoder === conn.encoderFor(true) ? 'u' : 'a';
      return conn.deps.encoded ? conn.deps.encoded.get(`${mode} ${key}`, make) : make();
    },
    untaggedBytes: (parts) => conn.write(Buffer.concat([STAR, ...parts, CRLF])),
    connection: control(conn),
  };
}

export async function runCommand(conn: ImapConnection, command: ImapCommand): Promise<void> {
  const spec = conn.deps.commands.get(command.name);
  const state = conn.session.state;
  conn.log.debug({ tag: command.tag, command: command.name }, 'command');
  if (!spec || !spec.states.includes(state)) {
    const refusal = spec ? stateRefusal(state, spec) : { status: 'BAD' as const, text: 'Unknown command' };
    sendAnswer(conn, command.tag, refusal);
    conn.resumeParser();
    return;
  }
  const answers: Answer[] = [];
  const ctx = makeContext(conn, command, answers);
  conn.busy = true;
  try {
    await (spec.run as (ctx: ConnectionContext) => Promise<void>)(ctx);
  } catch (err) {
    answers.push(failure(conn, command, err));
  }
  await tellUpdates(conn, ctx, command.name);
  conn.busy = false;
  if (state === 'not-authenticated' && conn.session.account) conn.log.info({ user: conn.session.account.user, secure: conn.transport.secure }, 'logged in');
  sendAnswer(conn, command.tag, finalAnswer(conn, command, answers));
  await afterAnswer(conn);
}

/** What a handler threw: the backend's refusal as NO [CODE], anything else a bug the client never sees. */
function failure(conn: ImapConnection, command: ImapCommand, err: unknown): Answer {
  if (err instanceof ImapBackendError) return { status: 'NO', text: err.message, code: err.code };
  conn.log.error({ err, command: command.name }, 'IMAP command failed');
  return { status: 'NO', text: texts.internal, code: 'SERVERBUG' };
}

function finalAnswer(conn: ImapConnection, command: ImapCommand, answers: Answer[]): Answer {
  const last = answers[answers.length - 1];
  if (answers.length !== 1 && !(answers.length === 2 && last?.code === 'SERVERBUG')) {
    conn.log.error({ command: command.name, answers: answers.length }, 'IMAP handler did not answer exactly once');
  }
  return last ?? { status: 'NO', text: texts.internal, code: 'SERVERBUG' };
}

/** RFC 3501 5.2, 7.4.1: changes to the selected folder, told before the tagged answer. */
async function tellUpdates(conn: ImapConnection, ctx: CommandContext, name: string): Promise<void> {
  const selected = conn.session.selected;
  // After LOGOUT's BYE (or another one) nothing more is told.
  if (!selected || conn.transport.ended || conn.afterAnswer === 'close') return;
  try {
    await selected.flush(ctx, { expunges: !NO_EXPUNGE_DURING.has(name), uid: name.startsWith('UID ') });
  } catch (err) {
    conn.log.error({ err }, 'telling folder changes failed');
  }
}

function sendAnswer(conn: ImapConnection, tag: string, answer: Answer): void {
  conn.write(conn.encoder.status(tag, answer.status, answer.text, answer.code));
  if (answer.status === 'BAD') conn.countBad();
}

async function afterAnswer(conn: ImapConnection): Promise<void> {
  const next = conn.afterAnswer;
  conn.afterAnswer = null;
  if (next === 'close') {
    conn.afterAnswer = 'close';
    conn.transport.end();
    return;
  }
  if (next === 'starttls') await conn.upgrade();
  if (next === 'compress') conn.transport.startCompression(conn.parser.takeHeld());
  conn.resumeParser();
}

/**
 * A synchronizing literal was announced (RFC 3501 7.5): `+` to go on, or the command's answer now when
 * it cannot succeed (unknown, wrong state, RFC 7889 an APPEND over the limit) so the client never sends it.
 */
export function answerContinue(conn: ImapConnection, tag: string, name: string, size: number): void {
  const spec = conn.deps.commands.get(name);
  const state = conn.session.state;
  let refusal: Answer | null = null;
  if (!spec) refusal = { status: 'BAD', text: 'Unknown command' };
  else if (!spec.states.includes(state)) refusal = stateRefusal(state, spec);
  else if (name === 'APPEND' && size > appendLimit(conn)) refusal = { status: 'NO', text: `Message too large (limit ${appendLimit(conn)} octets)`, code: 'TOOBIG' };
  if (!refusal) {
    conn.write(Buffer.from('+ Ready for literal data\r\n', 'latin1'));
    return;
  }
  sendAnswer(conn, tag, refusal);
  conn.parser.rejectLiteral();
}

function appendLimit(conn: ImapConnection): number {
  const max = conn.deps.settings.maxMessageSize;
  const account = conn.session.account?.appendLimit ?? 0;
  return account > 0 ? Math.min(account, max) : max;
}

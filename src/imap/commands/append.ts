// RFC 3501 6.3.11 (RFC 3516 4.4 literal8, RFC 4315 APPENDUID, RFC 7889 APPENDLIMIT):
//   append   = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal
//   literal8 = "~{" number "}" CRLF *OCTET        ; RFC 3516, in place of literal
//   append-data =/ "UTF8" SP "(" literal8 ")"      ; RFC 6855 4, messages with UTF-8 headers
// The folder must exist (`NO [TRYCREATE]`, never made on the fly); a message over the limit is
// `NO [TOOBIG]`, over the quota `NO [OVERQUOTA]` (RFC 9208 4.3.1), and one that fills the account is
// stored with an untagged `NO [OVERQUOTA]` before the OK. When the folder is the selected one
// the client is told of the new message before the tagged OK (RFC 3501 6.3.11).
import type { CommandContext, CommandSpec } from '../command.js';
import { ImapBackendError } from '../backend.js';
import type { ImapValue, StringValue } from '../wire/values.js';
import { accountOf, FOLDER_STATES, mailboxArg } from '../folders/command-helpers.js';
import { parseDateTime } from '../folders/date-time.js';
import { tellIfOverQuota } from '../folders/over-quota.js';
import { SYSTEM_FLAGS } from '../folders/open-folder.js';
import { appendLimitOf } from '../folders/status-items.js';
import { isAtomText } from '../wire/encoder.js';

interface AppendRequest {
  readonly flags: string[];
  readonly internalDate: Date | null;
  readonly message: StringValue;
}

/** RFC 3501 9 flag-list for APPEND: system flags (not \Recent) in their canonical spelling, and keywords. */
function readFlags(items: readonly ImapValue[]): string[] | string {
  const flags: string[] = [];
  for (const item of items) {
    if (item.kind !== 'atom' || item.section || !isAtomText(item.text) || item.text === '\\*') return 'APPEND: flags are atoms';
    let flag = item.text;
    if (flag.startsWith('\\')) {
      const system = SYSTEM_FLAGS.find((f) => f.toUpperCase() === flag.toUpperCase());
      if (!system) return `APPEND: ${flag} cannot be set`;
      flag = system;
    }
    if (!flags.includes(flag)) flags.push(flag);
  }
  return flags;
}

/**
 * The message: a literal (or literal8), or RFC 6855 4's `UTF8 (~{n}...)` for a message with UTF-8
 * headers; with how many arguments it took. Null when there is none.
 */
function readMessage(args: readonly ImapValue[]): { message: StringValue; taken: number } | null {
  const last = args.at(-1);
  if (last?.kind === 'string' && last.form !== 'quoted') return { message: last, taken: 1 };
  const utf8 = args.at(-2);
  const inner = last?.kind === 'list' && last.items.length === 1 ? last.items[0] : undefined;
  if (utf8?.kind === 'atom' && utf8.text.toUpperCase() === 'UTF8' && inner?.kind === 'string' && inner.form === 'literal8') return { message: inner, taken: 2 };
  return null;
}

/** The optional flag list and date-time, and the literal; a text for BAD when they do not read. */
function readRequest(args: readonly ImapValue[]): AppendRequest | string {
  const read = readMessage(args);
  if (read === null) return 'APPEND: the message must be a literal';
  const { message, taken } = read;
  if (args.length < 1 + taken || args.length > 3 + taken) return 'APPEND: mailbox [(flags)] ["date-time"] {literal} expected';
  let flags: string[] = [];
  let internalDate: Date | null = null;
  const middle = args.slice(1, -taken);
  if (middle[0]?.kind === 'list') {
    const read = readFlags(middle[0].items);
    if (typeof read === 'string') return read;
    flags = read;
    middle.shift();
  }
  if (middle.length > 0) {
    const date = middle[0];
    if (middle.length > 1 || date?.kind !== 'string' || date.form !== 'quoted') return 'APPEND: a quoted date-time expected';
    internalDate = parseDateTime(date.value.toString('latin1'));
    if (internalDate === null) return 'APPEND: date-time is not "dd-Mon-yyyy hh:mm:ss +zzzz"';
  }
  return { flags, internalDate, message };
}

async function store(ctx: CommandContext, name: string, request: AppendRequest): Promise<{ uidValidity: number; uid: number } | null> {
  try {
    // RFC 3516 4.4: a literal8 carries binary content, kept as sent (no line-end conversion).
    return await accountOf(ctx).append(name, request.message.value, request.flags, request.internalDate, { binary: request.message.form === 'literal8' });
  } catch (error) {
    // RFC 3501 6.3.11: a folder that is not there is TRYCREATE, whatever the backend called it.
    if (error instanceof ImapBackendError && error.code === 'NONEXISTENT') {
      ctx.no(error.message, 'TRYCREATE');
      return null;
    }
    throw error;
  }
}

export const command: CommandSpec = {
  name: 'APPEND',
  states: FOLDER_STATES,
  async run(ctx) {
    const request = readRequest(ctx.command.args);
    if (typeof request === 'string') return ctx.bad(request);
    const name = mailboxArg(ctx, ctx.command.args[0]);
    if (name === null) return;
    const limit = appendLimitOf(ctx.session);
    if (limit > 0 && request.message.value.length > limit) return ctx.no(`Message larger than ${limit} bytes`, 'TOOBIG');
    if (request.message.value.length === 0) return ctx.no('An empty message cannot be stored', 'CANNOT');
    const appended = await store(ctx, name, request);
    if (appended === null) return;
    const selected = ctx.session.selected;
    if (selected && selected.folder.name === name) await selected.flush(ctx, { expunges: true });
    await tellIfOverQuota(ctx);
    ctx.ok('APPEND completed', `APPENDUID ${appended.uidValidity} ${appended.uid}`);
  },
};

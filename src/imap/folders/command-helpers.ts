// What every folder command does the same way: the account of an authenticated session, a mailbox
// argument read or answered, the states folder commands run in (RFC 3501 6.3: authenticated or selected).
import type { CommandContext, SessionState } from '../command.js';
import type { ImapAccount } from '../backend.js';
import type { ImapValue } from '../wire/values.js';
import { newNameProblem, readMailbox } from './names.js';

export const FOLDER_STATES: readonly SessionState[] = ['authenticated', 'selected'];

/** The logged-in account; the connection runs these commands only once there is one. */
export function accountOf(ctx: CommandContext): ImapAccount {
  const account = ctx.session.account;
  if (!account) throw new Error(`${ctx.command.name} run without an account`);
  return account;
}

/** The mailbox argument as a UTF-8 name, or null after answering BAD (syntax) or NO (a name that cannot be). */
export function mailboxArg(ctx: CommandContext, value: ImapValue | undefined): string | null {
  const reading = readMailbox(value, ctx.session);
  if ('name' in reading) return reading.name;
  if (reading.error === 'bad') ctx.bad(reading.text);
  else ctx.no(reading.text, 'CANNOT');
  return null;
}

/** A name for a new folder, or null after answering NO [CANNOT] (RFC 5530). */
export function newMailboxArg(ctx: CommandContext, value: ImapValue | undefined): string | null {
  const name = mailboxArg(ctx, value);
  if (name === null) return null;
  const problem = newNameProblem(name);
  if (problem !== null) {
    ctx.no(problem, 'CANNOT');
    return null;
  }
  return name;
}

/** Answers BAD unless the command has between `min` and `max` arguments; true when it does. */
export function argumentCount(ctx: CommandContext, min: number, max = min): boolean {
  const count = ctx.command.args.length;
  if (count >= min && count <= max) return true;
  ctx.bad(count < min ? `${ctx.command.name}: missing arguments` : `${ctx.command.name}: too many arguments`);
  return false;
}

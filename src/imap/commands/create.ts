// RFC 3501 6.3.3, RFC 6154 3 (CREATE-SPECIAL-USE):
//   create         = "CREATE" SP mailbox [create-params]
//   create-params  = SP "(" create-param *(SP create-param) ")"        ; RFC 4466 2.2
//   create-param   = "USE" SP "(" [use-attr *(SP use-attr)] ")"         ; RFC 6154 6
// A trailing delimiter declares a folder meant to hold others; this server makes it as an ordinary
// folder (RFC 3501 6.3.3 lets it), without the delimiter.
import type { CommandContext, CommandSpec } from '../command.js';
import { keyword, listArg } from '../wire/arguments.js';
import type { ImapValue } from '../wire/values.js';
import { accountOf, argumentCount, FOLDER_STATES, newMailboxArg } from '../folders/command-helpers.js';
import { DELIMITER } from '../folders/names.js';
import { readUseAttributes } from '../folders/special-use.js';

/** The special use asked for (null for none), or undefined after answering. */
function readCreateParams(ctx: CommandContext, value: ImapValue | undefined): string | null | undefined {
  if (value === undefined) return null;
  const params = listArg(value);
  if (params === null || params.length % 2 !== 0) {
    ctx.bad('CREATE: parameters are a list of name and value');
    return undefined;
  }
  let use: string | null = null;
  for (let i = 0; i < params.length; i += 2) {
    if (keyword(params[i]) !== 'USE') {
      ctx.bad('CREATE: unknown parameter');
      return undefined;
    }
    const attributes = readUseAttributes(listArg(params[i + 1]));
    if (attributes === null) {
      ctx.bad('CREATE: USE takes a list of special-use attributes');
      return undefined;
    }
    // RFC 6154 3: a use this server cannot give is refused with USEATTR, the folder not made.
    if (attributes.length > 1 || attributes.some((a) => a.supported === null)) {
      ctx.no('A folder here can have one special use: \\Archive, \\Drafts, \\Junk, \\Sent or \\Trash', 'USEATTR');
      return undefined;
    }
    use = attributes[0]?.supported ?? null;
  }
  return use;
}

export const command: CommandSpec = {
  name: 'CREATE',
  states: FOLDER_STATES,
  async run(ctx) {
    if (!argumentCount(ctx, 1, 2)) return;
    const [mailbox, params] = ctx.command.args;
    const specialUse = readCreateParams(ctx, params);
    if (specialUse === undefined) return;
    const name = newMailboxArg(ctx, withoutTrailingDelimiter(mailbox));
    if (name === null) return;
    if (name === 'INBOX') return ctx.no('INBOX always exists', 'ALREADYEXISTS');
    await accountOf(ctx).createFolder(name, specialUse);
    ctx.ok('CREATE completed');
  },
};

/** RFC 3501 6.3.3: `CREATE foo/` makes `foo`. Only one delimiter is taken off: `foo//` stays invalid. */
function withoutTrailingDelimiter(value: ImapValue | undefined): ImapValue | undefined {
  if (value?.kind === 'string' && value.value.length > 1 && value.value.at(-1) === DELIMITER.charCodeAt(0)) {
    return { ...value, value: value.value.subarray(0, -1) };
  }
  if (value?.kind === 'atom' && !value.section && value.text.length > 1 && value.text.endsWith(DELIMITER)) {
    return { ...value, text: value.text.slice(0, -1) };
  }
  return value;
}

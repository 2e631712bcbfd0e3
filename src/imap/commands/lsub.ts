// RFC 3501 6.3.9:
//   lsub = "LSUB" SP mailbox SP list-mailbox
// The subscribed names matching the pattern. A name that is not subscribed but holds a subscribed
// name the pattern does not reach (`foo` for `foo/bar` under `%`) is listed \Noselect, as the RFC
// requires, so the client can walk down to it. Special uses are shown as Dovecot shows them, and
// `LSUB "" ""` answers nothing, as in Dovecot (RFC 3501 gives LIST alone the delimiter query).
import type { CommandSpec } from '../command.js';
import { atom, list, str } from '../wire/encoder.js';
import { accountOf, argumentCount, FOLDER_STATES } from '../folders/command-helpers.js';
import { readListRequest } from '../folders/list-options.js';
import { ancestorsOf, compareNames } from '../folders/list-tree.js';
import { DELIMITER, mailboxValue } from '../folders/names.js';
import { isSpecialUse } from '../folders/special-use.js';

export const command: CommandSpec = {
  name: 'LSUB',
  states: FOLDER_STATES,
  async run(ctx) {
    if (!argumentCount(ctx, 2)) return;
    const request = readListRequest(ctx.command.args, ctx.session);
    if (typeof request === 'string') return ctx.bad(request.replace(/^LIST/, 'LSUB'));
    const folders = await accountOf(ctx).listFolders();
    const subscribed = new Set(folders.filter((f) => f.subscribed).map((f) => f.name));
    const uses = new Map(folders.map((f) => [f.name, f.specialUse]));
    const matches = (name: string) => request.patterns.some((p) => p.matches(name));
    const holders = new Set<string>();
    for (const name of subscribed) {
      if (matches(name)) continue;
      for (const ancestor of ancestorsOf(name)) if (!subscribed.has(ancestor) && matches(ancestor)) holders.add(ancestor);
    }
    for (const name of [...subscribed, ...holders].sort(compareNames)) {
      if (!holders.has(name) && !matches(name)) continue;
      const use = uses.get(name) ?? null;
      const attributes = holders.has(name) ? [atom('\\Noselect')] : use !== null && isSpecialUse(use) ? [atom(use)] : [];
      ctx.untagged([atom('LSUB'), list(attributes), str(DELIMITER), mailboxValue(name, ctx.session)]);
    }
    ctx.ok('LSUB completed');
  },
};

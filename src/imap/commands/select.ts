// RFC 3501 6.3.1, RFC 4466 2.1, RFC 7162 3.1.8 and 3.2.5:
//   select = "SELECT" SP mailbox [select-params]
//   select-params = SP "(" select-param *(SP select-param) ")"
//   select-param  = "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
//                   [SP seq-match-data] ")"
// The procedure, shared with EXAMINE, is folders/open-folder.ts.
import type { CommandSpec } from '../command.js';
import { FOLDER_STATES } from '../folders/command-helpers.js';
import { openFolder } from '../folders/open-folder.js';

export const command: CommandSpec = {
  name: 'SELECT',
  states: FOLDER_STATES,
  run: (ctx) => openFolder(ctx, false),
};

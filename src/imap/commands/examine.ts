// RFC 3501 6.3.2 (parameters as SELECT's: RFC 4466 2.1, RFC 7162):
//   examine = "EXAMINE" SP mailbox [select-params]
// SELECT read-only: \Recent is left for another session, no flag changes, `[READ-ONLY]`.
import type { CommandSpec } from '../command.js';
import { FOLDER_STATES } from '../folders/command-helpers.js';
import { openFolder } from '../folders/open-folder.js';

export const command: CommandSpec = {
  name: 'EXAMINE',
  states: FOLDER_STATES,
  run: (ctx) => openFolder(ctx, true),
};

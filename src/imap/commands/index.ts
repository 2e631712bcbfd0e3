// Every command the server knows, by an explicit list (one file per command, its grammar at the top).
// The connection looks a command up here by its upper-case name (`UID FETCH` is its own entry).
import type { AnyCommand } from '../dispatch.js';
import { authenticate } from './authenticate.js';
import { capability } from './capability.js';
import { check } from './check.js';
import { close } from './close.js';
import { compress } from './compress.js';
import { enable } from './enable.js';
import { id } from './id.js';
import { idle } from './idle.js';
import { login } from './login.js';
import { logout } from './logout.js';
import { namespace } from './namespace.js';
import { noop } from './noop.js';
import { starttls } from './starttls.js';
import { unselect } from './unselect.js';
import { command as append } from './append.js';
import { command as create } from './create.js';
import { command as deleteFolder } from './delete.js';
import { command as examine } from './examine.js';
import { command as list } from './list.js';
import { command as lsub } from './lsub.js';
import { commands as quota } from './quota.js';
import { command as rename } from './rename.js';
import { command as select } from './select.js';
import { command as status } from './status.js';
import { command as subscribe } from './subscribe.js';
import { command as unsubscribe } from './unsubscribe.js';
import { copyCommand, uidCopyCommand } from './copy.js';
import { expungeCommand, uidExpungeCommand } from './expunge.js';
import { fetchCommand, uidFetchCommand } from './fetch.js';
import { moveCommand, uidMoveCommand } from './move.js';
import { searchCommand, uidSearchCommand } from './search.js';
import { storeCommand, uidStoreCommand } from './store.js';

/** Connection-level commands (RFC 3501 6.1, 6.2 and the extensions the connection carries out). */
const CONNECTION: readonly AnyCommand[] = [capability, noop, logout, starttls, authenticate, login, id, enable, namespace, idle, compress, check, close, unselect];

/** Folder commands (RFC 3501 6.3, RFC 9208) and message commands (RFC 3501 6.4), from their own files. */
const FOLDERS: readonly AnyCommand[] = [select, examine, create, deleteFolder, rename, subscribe, unsubscribe, list, lsub, status, append, ...quota];
const MESSAGES: readonly AnyCommand[] = [
  fetchCommand, uidFetchCommand, storeCommand, uidStoreCommand, copyCommand, uidCopyCommand, moveCommand, uidMoveCommand,
  expungeCommand, uidExpungeCommand, searchCommand, uidSearchCommand,
];

export function commandRegistry(): ReadonlyMap<string, AnyCommand> {
  const registry = new Map<string, AnyCommand>();
  for (const spec of [...CONNECTION, ...FOLDERS, ...MESSAGES]) {
    if (registry.has(spec.name)) throw new Error(`IMAP command ${spec.name} is registered twice`);
    registry.set(spec.name, spec);
  }
  return registry;
}

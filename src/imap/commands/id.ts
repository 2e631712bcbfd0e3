// RFC 2971 3.1
//   id = "ID" SP id_params_list
//   id_params_list = "(" #(string SP nstring) ")" / nil
//   id_response = "ID" SP id_params_list
import type { CommandSpec } from '../command.js';
import { atom, list, str } from '../wire/encoder.js';
import { nstringBytes } from '../wire/arguments.js';
import type { ImapValue } from '../wire/values.js';

/** RFC 2971 3.3: at most 30 pairs, names up to 30 octets, values up to 1024. */
function validParams(args: readonly ImapValue[]): boolean {
  const [params, extra] = args;
  if (extra !== undefined || params === undefined) return false;
  if (params.kind === 'nil') return true;
  if (params.kind !== 'list' || params.items.length % 2 !== 0 || params.items.length > 60) return false;
  for (let i = 0; i < params.items.length; i += 2) {
    const name = params.items[i];
    const value = nstringBytes(params.items[i + 1]);
    if (name?.kind !== 'string' || name.value.length > 30 || value === null || (value && value.length > 1024)) return false;
  }
  return true;
}

export const id: CommandSpec = {
  name: 'ID',
  states: ['not-authenticated', 'authenticated', 'selected'],
  async run(ctx) {
    if (!validParams(ctx.command.args)) return ctx.bad('Expected ID (name value ...) or ID NIL');
    ctx.untagged([atom('ID'), list([str('name'), str('Letterbox')])]);
    ctx.ok('ID completed');
  },
};

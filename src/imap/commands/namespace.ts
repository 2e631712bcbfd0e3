// RFC 2342 5
//   namespace = "NAMESPACE"
//   Namespace_Response = "*" SP "NAMESPACE" SP Namespace SP Namespace SP Namespace
// One personal namespace, no prefix, "/" between levels; no other users' or shared folders.
import type { CommandSpec } from '../command.js';
import { list, NIL, str } from '../wire/encoder.js';

export const namespace: CommandSpec = {
  name: 'NAMESPACE',
  states: ['authenticated', 'selected'],
  async run(ctx) {
    if (ctx.command.args.length > 0) return ctx.bad('NAMESPACE takes no arguments');
    ctx.untagged([{ kind: 'atom', text: 'NAMESPACE' }, list([list([str(''), str('/')])]), NIL, NIL]);
    ctx.ok('Namespace completed');
  },
};

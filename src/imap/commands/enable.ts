// RFC 5161 3.1
//   command-any =/ "ENABLE" 1*(SP capability)
//   response-data =/ "*" SP enable-data CRLF ; enable-data = "ENABLED" *(SP capability)
// Only in the authenticated state (RFC 5161 3.1). QRESYNC turns CONDSTORE on too (RFC 7162 3.2.3);
// UTF8=ACCEPT lets quoted strings carry UTF-8 (RFC 6855 3). Unknown names are ignored.
import type { CommandSpec } from '../command.js';
import { atom } from '../wire/encoder.js';
import { keyword } from '../wire/arguments.js';

const ENABLEABLE = ['CONDSTORE', 'QRESYNC', 'UTF8=ACCEPT'];

export const enable: CommandSpec = {
  name: 'ENABLE',
  states: ['authenticated'],
  async run(ctx) {
    const names = ctx.command.args.map((value) => keyword(value) ?? (value.kind === 'number' ? value.text : null));
    if (names.length === 0 || names.some((name) => name === null)) return ctx.bad('Expected ENABLE capability ...');
    const enabled = ctx.session.enabled;
    const now: string[] = [];
    for (const name of names as string[]) {
      const wanted = name === 'QRESYNC' ? ['CONDSTORE', 'QRESYNC'] : [name];
      for (const capability of wanted) {
        // RFC 5161 3.1: ENABLED lists only what this command turned on.
        if (!ENABLEABLE.includes(capability) || enabled.has(capability)) continue;
        enabled.add(capability);
        now.push(capability);
      }
    }
    ctx.untagged([atom('ENABLED'), ...now.map((name) => atom(name))]);
    ctx.ok('Enabled');
  },
};
